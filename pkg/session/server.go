// Package session is where the protocol packages meet: it accepts PPTP
// control connections, runs one PPP link per call over enhanced GRE, hands
// out pool addresses, enforces the single-session policy, and moves packets
// between the sessions and the TUN device.
//
// The packet path (see docs/internals.md):
//
//  1. receiveGRE: raw socket -> gre.Parse -> session by call ID -> sequence
//     window -> ppp.Link.Input (MPPE decrypt in place) -> OnIP -> one TUN
//     write per GRE batch (flushTUN).
//  2. readTUN: TUN read (with headroom) -> session by destination address ->
//     ppp.Link.WriteIPAt (MPPE encrypt in place) -> sendFrame: GRE header
//     with sequence and piggy-backed ack written in front -> raw socket.
//     A packet larger than the peer's MRU is fragmented (DF clear) or
//     answered with ICMP "fragmentation needed" into TUN (DF set): tooBig.
//
// No stage copies a packet or allocates: TUN and GRE buffers are owned by
// the two loops and reused, headers go into headroom, and decryption is in
// place in the GRE receive buffer.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/authguard"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// Config is what the server needs from the configuration.
type Config struct {
	Logger *slog.Logger
	// Name is our CHAP name (pppd "name").
	Name    string
	LocalIP netip.Addr
	Pool    *ippool.Pool
	DNS     [2]netip.Addr

	Auth          []ppp.AuthProto
	AuthRetries   int
	Authenticator ppp.Authenticator
	MPPE          ppp.MPPEPolicy
	MRU           uint16
	EchoInterval  time.Duration
	EchoFailure   int

	CtrlEchoInterval time.Duration
	SingleSession    aaa.SingleSession
	// MaxSessions bounds concurrent calls; 0 means the pool size.
	MaxSessions int
	// OnAddr, when set, is told when a session's address comes up and goes
	// down (boxd adds proxy-ARP entries on the LAN for it, pppd's proxyarp).
	OnAddr func(a netip.Addr, up bool)
	// Accounting, when set, hears of each session's start and end
	// (RADIUS accounting).
	Accounting Accounting
	// AckDelay is how long a received data packet may wait for a
	// piggy-backed acknowledgement before a standalone ack is sent.
	AckDelay time.Duration
	// Guard, when set, slows password guessing (authguard.go).
	Guard *authguard.Guard
	// ICMPRate and ICMPBurst limit the ICMP "fragmentation needed"
	// replies to packets larger than a client's MRU: ICMPRate per second
	// on average, ICMPBurst at once (0: 1000 and 50, Linux's defaults).
	ICMPRate, ICMPBurst int
	// Limits on what peers hold before they log in (limits.go); 0 is no
	// cap. MaxConns and MaxConnsPerSource count control connections,
	// MaxCallsPerConn the calls of one, MaxUnauthPerSource the calls per
	// source address whose link is not up yet.
	MaxConns, MaxConnsPerSource, MaxCallsPerConn, MaxUnauthPerSource int
	// StartTimeout closes a control connection without Start-Control-
	// Connection-Request (0: 10s); LoginTimeout ends a call whose link is
	// not up (0: 30s).
	StartTimeout, LoginTimeout time.Duration
}

// Server is the PPTP server. Create it with New, run it with Serve.
type Server struct {
	cfg   Config
	log   *slog.Logger
	gre   gre.Conn
	tun   tun.Device
	stats Stats
	// tunOut collects the IP packets of one GRE batch for one TUN write;
	// owned by the receiveGRE goroutine.
	tunOut [][]byte
	// tx is the send path's scratch (fragments, ICMP replies); owned by
	// the readTUN goroutine.
	tx sendScratch
	// ctrlCounters are shared by every control connection.
	ctrlCounters pptp.Counters
	// lim admits control connections (limits.go).
	lim limits

	mu      sync.RWMutex
	calls   map[uint16]*Session // by our call ID (the GRE key the peer sends)
	byIP    map[netip.Addr]*Session
	byUser  map[string][]*Session
	conns   map[*pptp.Conn]struct{}
	closing bool
	idle    chan struct{} // closed and replaced when calls becomes empty

	// unauth counts the calls in calls whose link is not up yet, by
	// sourceKey of the peer (admitCallLocked, limits.go); under mu.
	unauth map[netip.Addr]int
}

// New makes a server that sends and receives GRE on g and IP packets on t.
// Serve takes ownership of both and closes them when it returns.
func New(cfg Config, g gre.Conn, t tun.Device) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AckDelay == 0 {
		cfg.AckDelay = 20 * time.Millisecond
	}
	limitDefaults(&cfg)
	if cfg.MaxSessions == 0 && cfg.Pool != nil {
		cfg.MaxSessions = cfg.Pool.Size()
	}
	return &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		gre:    g,
		tun:    t,
		tunOut: make([][]byte, 0, batch),
		tx:     newSendScratch(cfg.ICMPRate, cfg.ICMPBurst),
		calls:  map[uint16]*Session{},
		byIP:   map[netip.Addr]*Session{},
		byUser: map[string][]*Session{},
		conns:  map[*pptp.Conn]struct{}{},
		unauth: map[netip.Addr]int{},
		idle:   make(chan struct{}),
	}
}

// Serve accepts control connections on ln and runs the dataplane until ctx
// ends; then it ends every session cleanly (LCP Terminate, Call-Disconnect-
// Notify, Stop-Control-Connection) within shutdownTimeout and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(2)
	go func() { defer wg.Done(); errc <- s.receiveGRE() }()
	go func() { defer wg.Done(); errc <- s.readTUN() }()
	connCtx, cancelConns := context.WithCancel(context.WithoutCancel(ctx))
	var connWG sync.WaitGroup
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		err := s.acceptLoop(ctx, ln, func(nc net.Conn, release func()) {
			connWG.Add(1)
			go func() {
				defer connWG.Done()
				defer release()
				s.serveConn(connCtx, nc)
			}()
		})
		if err != nil {
			errc <- err
		}
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		s.log.Error("dataplane failed", "err", err)
	}
	ln.Close()
	<-acceptDone
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	s.Shutdown(sctx)
	cancel()
	cancelConns()
	connWG.Wait()
	s.gre.Close()
	s.tun.Close()
	wg.Wait()
	return err
}

// startDelay is how long a new call waits for the peer's first GRE packet
// before our side of LCP starts anyway.
const startDelay = 500 * time.Millisecond

// shutdownTimeout bounds a clean shutdown: LCP gives a peer 2 Terminate-
// Requests 3 s apart (RFC 1661 Max-Terminate); we do not wait that long.
const shutdownTimeout = 5 * time.Second

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := pptp.NewServerConn(nc, pptp.Config{
		HostName:     s.cfg.Name,
		EchoInterval: s.cfg.CtrlEchoInterval,
		Counters:     &s.ctrlCounters,
		StartTimeout: s.cfg.StartTimeout,
		MaxCalls:     s.cfg.MaxCallsPerConn,
	}, s, s.log)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	err := c.Serve(ctx)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		s.log.Info("control connection closed", "peer", nc.RemoteAddr().String(), "err", err)
	}
}

// Shutdown ends every session and control connection, waiting until ctx ends
// for the peers to acknowledge.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	sessions := make([]*Session, 0, len(s.calls))
	for _, ss := range s.calls {
		sessions = append(sessions, ss)
	}
	idle := s.idle
	empty := len(s.calls) == 0
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.closeFor(CauseAdminReboot, "server shutting down")
	}
	if !empty {
		select {
		case <-idle:
		case <-ctx.Done():
			s.log.Warn("shutdown: sessions did not end in time", "left", len(s.Sessions()))
		}
	}
	s.mu.RLock()
	conns := make([]*pptp.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() StatsSnapshot {
	snap := s.stats.snapshot()
	s.mu.RLock()
	c := &s.ctrlCounters
	snap.Control = ControlCounters{
		BadMagic: c.BadMagic.Load(), BadLength: c.BadLength.Load(), Malformed: c.Malformed.Load(),
		Unknown: c.Unknown.Load(), Unexpected: c.Unexpected.Load(), BadCallID: c.BadCallID.Load(),
		StartTimeouts: c.StartTimeouts.Load(), EchoTimeouts: c.EchoTimeouts.Load(),
		CallsOpened: c.CallsOpened.Load(), CallsRefused: c.CallsRefused.Load(),
	}
	s.guardLen(&snap.Auth)
	snap.Limits = s.limitCounters()
	snap.Sessions = len(s.calls)
	snap.Conns = len(s.conns)
	s.mu.RUnlock()
	if s.cfg.Pool != nil {
		snap.PoolSize, snap.PoolInUse = s.cfg.Pool.Size(), s.cfg.Pool.InUse()
	}
	return snap
}

// Sessions lists the live sessions.
func (s *Server) Sessions() []Info {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Info, 0, len(s.calls))
	for _, ss := range s.calls {
		out = append(out, ss.Info())
	}
	return out
}

// Disconnect ends every session of user (the CLI's and RADIUS DAE's
// disconnect). It reports how many it ended.
func (s *Server) Disconnect(user, reason string) int {
	s.mu.RLock()
	list := append([]*Session(nil), s.byUser[user]...)
	s.mu.RUnlock()
	for _, ss := range list {
		ss.closeFor(CauseAdminReset, reason)
	}
	return len(list)
}

// OutgoingCall implements pptp.Handler: a new call gets a call ID and a PPP link.
func (s *Server) OutgoingCall(c *pptp.Conn, peerCallID uint16, req *pptp.OutgoingCallRequest) (uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		s.stats.CallsRefused.Add(1)
		return 0, errors.New("server shutting down")
	}
	if err := s.refuseGuarded(c); err != nil {
		s.stats.CallsRefused.Add(1)
		return 0, err
	}
	if err := s.admitCallLocked(c); err != nil {
		return 0, err
	}
	if s.cfg.MaxSessions > 0 && len(s.calls) >= s.cfg.MaxSessions {
		s.stats.CallsRefused.Add(1)
		return 0, fmt.Errorf("session limit %d reached: %w", s.cfg.MaxSessions, pptp.ErrNoResource)
	}
	id, ok := s.newCallID()
	if !ok {
		s.stats.CallsRefused.Add(1)
		return 0, fmt.Errorf("no free call ID: %w", pptp.ErrNoResource)
	}
	ss := newSession(s, c, id, peerCallID, req.RecvWindow)
	s.calls[id] = ss
	s.countUnauthLocked(ss)
	// The link starts when the peer's first GRE packet arrives (its LCP
	// Configure-Request, sent once our Outgoing-Call-Reply is in), or after
	// startDelay: an LCP request sent before the reply reaches the client
	// would be dropped and cost a 3 s restart timer.
	ss.startTimer.Store(time.AfterFunc(startDelay, ss.start))
	s.armLoginTimeout(ss)
	return id, nil
}

// SetLinkInfo implements pptp.Handler. PPTP carries PPP without HDLC framing,
// so the ACCMs have no effect on the GRE path; they are logged.
func (s *Server) SetLinkInfo(c *pptp.Conn, callID uint16, sendACCM, recvACCM uint32) {
	s.log.Debug("set-link-info", "call", callID, "send_accm", fmt.Sprintf("%#08x", sendACCM), "recv_accm", fmt.Sprintf("%#08x", recvACCM))
}

// CallCleared implements pptp.Handler: the peer cleared the call or its
// control connection ended.
func (s *Server) CallCleared(c *pptp.Conn, callID uint16) {
	s.mu.RLock()
	ss := s.calls[callID]
	s.mu.RUnlock()
	if ss != nil && ss.ctrl == c {
		ss.cleared.Store(true)
		// The call is gone: no LCP Terminate into it, and no restart
		// period to wait for its ack (pptpd hangs pppd up the same way).
		ss.link.Hangup("peer cleared the call")
	}
}

func (s *Server) callByID(id uint16) *Session {
	s.mu.RLock()
	ss := s.calls[id]
	s.mu.RUnlock()
	return ss
}

func (s *Server) sessionByIP(a netip.Addr) *Session {
	s.mu.RLock()
	ss := s.byIP[a]
	s.mu.RUnlock()
	return ss
}

// assign runs when a session's user is authenticated: the single-session
// policy, then the peer address (a fixed one from the authenticator, or the
// pool's next). The address is published to the TUN path at once; packets
// to it are dropped by the link until the network phase is up.
//
// The policy check and the claim of the user name are one step under s.mu
// (claimUser): two concurrent logins of one user never both pass "deny",
// and under "replace" each login ends every session that claimed the name
// before it, so exactly the last one survives. A session's identity (user,
// ip, fromPool) is written only here, under s.mu, while the session is
// still in s.calls; remove takes it out under s.mu, so what onDown reads
// after remove is final.
func (s *Server) assign(ss *Session, user string, res *ppp.AuthResult) (ppp.NetworkParams, error) {
	s.mu.Lock()
	if s.calls[ss.callID] != ss {
		s.mu.Unlock()
		return ppp.NetworkParams{}, errors.New("session ended during authentication")
	}
	if ss.ip.IsValid() {
		// A second login on the same call (the peer renegotiated LCP).
		// The link keeps its first addresses and does not ask again; if
		// it did, the same user keeps the address and anyone else is
		// refused, so byIP and byUser never go stale.
		defer s.mu.Unlock()
		if user != ss.user {
			s.stats.Auth.ReauthRefused.Add(1)
			return ppp.NetworkParams{}, fmt.Errorf("re-authentication as %q on a session of %q", user, ss.user)
		}
		return ppp.NetworkParams{LocalIP: s.cfg.LocalIP, PeerIP: ss.ip, DNS: s.cfg.DNS}, nil
	}
	old, err := s.claimUser(ss, user)
	if err != nil {
		s.mu.Unlock()
		return ppp.NetworkParams{}, err
	}
	if len(old) > 0 {
		s.mu.Unlock()
		for _, o := range old {
			s.log.Info("single session: replacing the older session", "user", user, "old_peer", o.peer.String(), "new_peer", ss.peer.String())
			o.closeFor(CausePortPreempted, "replaced by a new login of the same user")
		}
		// The old session's address must be free before the new one
		// takes it (a fixed address, or the client asking for its last
		// one): wait for the old links to go down, bounded.
		deadline := time.After(shutdownTimeout)
		for _, o := range old {
			select {
			case <-o.down:
			case <-deadline:
			}
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	// The link may have gone down (and remove run) while the wait above
	// blocked, or a newer login of the user replaced this one: an address
	// taken now would never be given back, or be held by a dying session.
	if s.calls[ss.callID] != ss {
		// remove has run: it took the claim out, and ss is final now.
		return ppp.NetworkParams{}, errors.New("session ended during authentication")
	}
	if ss.cause.Load() != 0 {
		s.unclaimUser(ss)
		return ppp.NetworkParams{}, errors.New("session ended during authentication")
	}
	if ss.ip.IsValid() {
		// An earlier login of this session (the same user: claimUser) got
		// the address while this one waited.
		return ppp.NetworkParams{LocalIP: s.cfg.LocalIP, PeerIP: ss.ip, DNS: s.cfg.DNS}, nil
	}
	ip, err := s.takeAddr(ss, res, old)
	if err != nil {
		s.unclaimUser(ss)
		return ppp.NetworkParams{}, err
	}
	ss.ip = ip
	s.byIP[ip] = ss
	return ppp.NetworkParams{LocalIP: s.cfg.LocalIP, PeerIP: ip, DNS: s.cfg.DNS}, nil
}

// claimUser applies the single-session policy to a login of user and, when
// it passes, records ss as one of user's sessions at once, so that a
// concurrent login sees it. Under "replace" it returns the older sessions
// to end. Called with s.mu held.
func (s *Server) claimUser(ss *Session, user string) (old []*Session, err error) {
	if ss.user != "" && ss.user != user {
		// An earlier login of this session is still being assigned (the
		// peer renegotiated meanwhile) under another name.
		s.stats.Auth.ReauthRefused.Add(1)
		return nil, fmt.Errorf("re-authentication as %q during the login of %q", user, ss.user)
	}
	var others []*Session
	for _, o := range s.byUser[user] {
		if o != ss {
			others = append(others, o)
		}
	}
	if len(others) > 0 {
		switch s.cfg.SingleSession {
		case aaa.SingleDeny:
			s.stats.Auth.SingleSessionDenied.Add(1)
			return nil, fmt.Errorf("user %q already has a session (single_session = deny)", user)
		case aaa.SingleReplace:
			old = others
		}
	}
	if ss.user == "" {
		ss.user = user
		s.byUser[user] = append(s.byUser[user], ss)
	}
	return old, nil
}

// unclaimUser undoes claimUser for a login that got no address: the
// session ends in the authentication phase, and the name is free again.
// Called with s.mu held.
func (s *Server) unclaimUser(ss *Session) {
	s.dropFromUser(ss)
	ss.user = ""
}

// dropFromUser takes ss out of its user's sessions (byUser). Called with
// s.mu held.
func (s *Server) dropFromUser(ss *Session) {
	if list := removeFrom(s.byUser[ss.user], ss); len(list) == 0 {
		delete(s.byUser, ss.user)
	} else {
		s.byUser[ss.user] = list
	}
}

// takeAddr picks the address of a session being assigned: the
// authenticator's fixed one, else the pool's next. old are the sessions the
// login replaces, whose fixed address it may take over. Called with s.mu
// held.
func (s *Server) takeAddr(ss *Session, res *ppp.AuthResult, old []*Session) (netip.Addr, error) {
	switch {
	case res != nil && res.FramedIP.IsValid():
		ip := res.FramedIP
		if other := s.byIP[ip]; other != nil {
			if s.cfg.SingleSession != aaa.SingleReplace || !slices.Contains(old, other) {
				return netip.Addr{}, fmt.Errorf("address %s is in use by %q", ip, other.user)
			}
			// The replaced session is still saying goodbye to a peer that
			// does not answer (LCP Max-Terminate outlasts the wait above):
			// the new login takes the address, and the pool entry with it.
			delete(s.byIP, ip)
			ss.fromPool, other.fromPool = other.fromPool, false
			return ip, nil
		}
		if s.cfg.Pool != nil && s.cfg.Pool.Contains(ip) {
			if err := s.cfg.Pool.Reserve(ip); err != nil {
				return netip.Addr{}, err
			}
			ss.fromPool = true
		}
		return ip, nil
	case s.cfg.Pool != nil:
		ip, err := s.cfg.Pool.Get()
		if err != nil {
			return netip.Addr{}, err
		}
		ss.fromPool = true
		return ip, nil
	}
	return netip.Addr{}, errors.New("no address pool and no fixed address for the user")
}

// remove forgets a session that went down and releases its address.
func (s *Server) remove(ss *Session) {
	s.mu.Lock()
	delete(s.calls, ss.callID)
	s.uncountUnauthLocked(ss)
	if s.byIP[ss.ip] == ss {
		delete(s.byIP, ss.ip)
	}
	s.dropFromUser(ss)
	if ss.fromPool && ss.ip.IsValid() {
		s.cfg.Pool.Put(ss.ip)
	}
	if len(s.calls) == 0 {
		close(s.idle)
		s.idle = make(chan struct{})
	}
	s.mu.Unlock()
}

func removeFrom(list []*Session, ss *Session) []*Session {
	out := list[:0]
	for _, x := range list {
		if x != ss {
			out = append(out, x)
		}
	}
	return out
}
