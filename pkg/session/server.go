// Package session is where the protocol packages meet: it accepts PPTP
// control connections, runs one PPP link per call over enhanced GRE, hands
// out pool addresses, enforces the single-session policy, and moves packets
// between the sessions and the TUN device.
//
// The packet path (see docs/internals.md) is in two files, each read top to
// bottom in pipeline order under a numbered list of its steps:
//
//   - receive.go: raw socket -> gre.Parse -> session by call ID -> sequence
//     window -> ppp.Link.Input (MPPE decrypt in place) -> source check ->
//     one TUN write per GRE batch.
//   - send.go: TUN read (with headroom) -> session by destination address ->
//     too big for the peer's MRU: fragments or ICMP -> ppp.Link.WriteIPAt
//     (MPPE encrypt in place) -> GRE header with sequence and piggy-backed
//     ack written in front -> raw socket.
//
// No stage copies a packet or allocates: TUN and GRE buffers are owned by
// the two loops and reused, headers go into headroom, and decryption is in
// place in the GRE receive buffer. The control plane is in its own files:
// server.go (Serve, Shutdown, the session table), calls.go (pptp.Handler),
// login.go (single-session policy and addresses), session.go (one call's
// link and its up/down), limits.go, authguard.go, accounting.go, stats.go,
// trace.go (the operator's trace of logins).
package session

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/authguard"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
	"github.com/pptpbox/pptpbox/pkg/trace"
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
	// OnRoute, when set, is told when a subnet routed through a session
	// (AuthResult.Routes, routes.go) comes up and goes down: boxd routes
	// it into the TUN device.
	OnRoute func(p netip.Prefix, up bool)
	// Accounting, when set, hears of each session's start and end
	// (RADIUS accounting).
	Accounting aaa.Accounting
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
	// RateLimit is every session's rate limit when its AuthResult sets
	// none (RADIUS Mikrotik-Rate-Limit or WISPr, [[user]] rate_limit):
	// [pptp] rate_limit. The zero Limit is none (ratelimit.go).
	RateLimit ratelimit.Limit
}

// Server is the PPTP server. Create it with New, run it with Serve.
type Server struct {
	cfg   Config
	log   *slog.Logger
	stats Stats
	// shards are the receive loops, one per GRE socket (receive.go):
	// shard k receives the calls whose ID is in gre.Shard k.
	shards []*rxShard
	// tuns are the TUN device's queues, one send loop each (send.go).
	tuns []tun.Device
	// fragNeeded limits and numbers the ICMP "fragmentation needed"
	// replies of every send loop (send.go).
	fragNeeded fragNeededLimit
	// ctrlCounters are shared by every control connection.
	ctrlCounters pptp.Counters
	// lim admits control connections (limits.go).
	lim limits
	// trace is the operator's trace hub (trace.go).
	trace *trace.Hub

	mu     sync.RWMutex
	calls  map[uint16]*Session // by our call ID (the GRE key the peer sends)
	byIP   map[netip.Addr]*Session
	byUser map[string][]*Session
	// routes are the subnets routed through sessions (routes.go); empty,
	// the send path never looks at them.
	routes routeTable
	// routeMu orders the routes' grants and drops with their OnRoute
	// calls (routes.go); taken before mu.
	routeMu sync.Mutex
	conns   map[*pptp.Conn]struct{}
	closing bool
	idle    chan struct{} // closed and replaced when calls becomes empty

	// ended is the traffic of the sessions removed so far (loginstats.go).
	ended traffic

	// unauth counts the calls in calls whose link is not up yet, by
	// sourceKey of the peer (admitCallLocked, limits.go); under mu.
	unauth map[netip.Addr]int
}

// batch is how many packets one read moves.
const batch = 32

// New makes a server that sends and receives GRE on g and IP packets on t
// (NewSharded with one of each).
func New(cfg Config, g gre.Conn, t tun.Device) *Server {
	var gs []gre.Conn
	var ts []tun.Device
	if g != nil {
		gs = []gre.Conn{g}
	}
	if t != nil {
		ts = []tun.Device{t}
	}
	return NewSharded(cfg, gs, ts)
}

// NewSharded makes a server that receives GRE on the sockets gs, socket k
// getting the packets of the call IDs in gre.Shard k of len(gs)
// (gre.ListenIPv4Shards), and moves IP packets through the TUN queues ts
// (tun.OpenQueues). Each socket and each queue gets a goroutine of its own;
// a call's packets are received on one, in order. Serve takes ownership of
// them all and closes them when it returns.
func NewSharded(cfg Config, gs []gre.Conn, ts []tun.Device) *Server {
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
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		tuns:       ts,
		fragNeeded: newFragNeededLimit(cfg.ICMPRate, cfg.ICMPBurst),
		calls:      map[uint16]*Session{},
		byIP:       map[netip.Addr]*Session{},
		byUser:     map[string][]*Session{},
		conns:      map[*pptp.Conn]struct{}{},
		unauth:     map[netip.Addr]int{},
		idle:       make(chan struct{}),
		trace:      trace.New(),
	}
	for k, g := range gs {
		var t tun.Device
		if len(ts) > 0 {
			t = ts[k%len(ts)] // the receive loops spread their writes over the queues
		}
		s.shards = append(s.shards, &rxShard{gre: g, tun: t, tunOut: make([][]byte, 0, batch)})
	}
	return s
}

// Serve accepts control connections on ln and runs the dataplane until ctx
// ends; then it ends every session cleanly (LCP Terminate, Call-Disconnect-
// Notify, Stop-Control-Connection) within shutdownTimeout and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(s.shards)+len(s.tuns)+1)
	for _, sh := range s.shards {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.receiveGRE(sh) }()
	}
	for _, t := range s.tuns {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- s.readTUN(s.newTxQueue(t)) }()
	}
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
	for _, sh := range s.shards {
		sh.gre.Close()
	}
	for _, t := range s.tuns {
		t.Close()
	}
	wg.Wait()
	return err
}

// shutdownTimeout bounds a clean shutdown: LCP gives a peer 2 Terminate-
// Requests 3 s apart (RFC 1661 Max-Terminate); we do not wait that long.
const shutdownTimeout = 5 * time.Second

// serveConn runs one control connection. An idle connection's goroutine
// waits inside c.Serve below this frame: it is kept small (the set-up and
// the end are functions of their own), so that its stack shrinks to the
// least once a login is done.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := s.addConn(nc)
	if c == nil {
		return
	}
	err := c.Serve(ctx)
	s.connEnded(ctx, c, err)
}

// addConn wraps nc as a control connection and records it, or closes nc
// and returns nil when the server is closing.
//
//go:noinline
func (s *Server) addConn(nc net.Conn) *pptp.Conn {
	c := pptp.NewServerConn(nc, pptp.Config{
		HostName:     s.cfg.Name,
		EchoInterval: s.cfg.CtrlEchoInterval,
		Counters:     &s.ctrlCounters,
		StartTimeout: s.cfg.StartTimeout,
		MaxCalls:     s.cfg.MaxCallsPerConn,
		Tracer:       s.connTracer(nc),
	}, s, s.log)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		nc.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	return c
}

// connEnded forgets a control connection whose Serve returned err.
//
//go:noinline
func (s *Server) connEnded(ctx context.Context, c *pptp.Conn, err error) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		s.log.Info("control connection closed", "peer", c.NetConn().RemoteAddr().String(), "err", err)
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
		ss.closeFor(aaa.CauseAdminReboot, "server shutting down")
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

// callByID is the session whose call ID (ours, the GRE key) is id, or nil:
// the receive path's lookup (handleGRE).
func (s *Server) callByID(id uint16) *Session {
	s.mu.RLock()
	ss := s.calls[id]
	s.mu.RUnlock()
	return ss
}

// sessionByIP is the session that holds address a, or else the one a
// subnet containing a is routed through (routes.go), or nil: the send
// path's lookup (routeToSession).
func (s *Server) sessionByIP(a netip.Addr) *Session {
	s.mu.RLock()
	ss := s.byIP[a]
	if ss == nil && len(s.routes) > 0 {
		ss = s.routes.lookup(a) // a host behind a site (routes.go)
	}
	s.mu.RUnlock()
	return ss
}

// remove forgets a session that went down and releases its address.
func (s *Server) remove(ss *Session) {
	s.mu.Lock()
	if s.calls[ss.callID] == ss {
		s.countCall(ss.callID, -1)
	}
	delete(s.calls, ss.callID)
	s.ended.add(ss)
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
