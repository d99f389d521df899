package session

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
	"github.com/pptpbox/pptpbox/pkg/trace"
)

// Session is one PPTP call: its control connection, its GRE tunnel and its
// PPP link.
type Session struct {
	srv        *Server
	ctrl       *pptp.Conn
	callID     uint16 // ours: the GRE key the peer sends
	peerCallID uint16 // the peer's: the GRE key we send
	peer       netip.Addr
	started    time.Time
	link       *ppp.Link
	trace      *trace.Call // nil when untraced (trace.go)

	// The identity: written only by assign (claimUser, unclaimUser,
	// takeAddr) under srv.mu while the session is in srv.calls, never
	// again once ip is set; read under srv.mu, after onUp, or after remove.
	user     string
	ip       netip.Addr
	fromPool bool
	mppe     atomic.Value // string, set when up
	// routes are the subnets routed through the session (routes.go):
	// set once by onUp, nil when none.
	routes atomic.Pointer[[]netip.Prefix]

	// startClaimed is set by whichever comes first: start, or onDown (a
	// call that ended before its link started must not start it later).
	startClaimed atomic.Bool
	// startTimer is set by OutgoingCall after the timer exists, and read by
	// the timer's own function: atomic, so that read sees the write.
	startTimer atomic.Pointer[time.Timer]
	// loginTimer is armLoginTimeout's (limits.go), stopped when the link
	// comes up or goes down: an idle session keeps no timer it does not
	// need.
	loginTimer atomic.Pointer[time.Timer]
	// limitTimer ends the session at AuthResult.SessionTimeout (RADIUS
	// Session-Timeout, RFC 2865 §5.27). Set by onUp, stopped by onDown,
	// replaced by a CoA (change.go); policyMu guards it and policyUp (onUp
	// ran, onDown not yet), so a change lands on a live session only.
	policyMu   sync.Mutex
	policyUp   bool
	limitTimer *time.Timer
	idle       idleWatch // AuthResult.IdleTimeout (RADIUS Idle-Timeout)

	wasUp   atomic.Bool   // the network phase came up
	cleared atomic.Bool   // the peer cleared the call: no Call-Disconnect-Notify
	down    chan struct{} // closed when the link is down and the session removed

	// unauthCounted: the call counts in srv.unauth (limits.go); under
	// srv.mu.
	unauthCounted bool

	// GRE state. tunMu serialises the tunnel's sequence/ack bookkeeping
	// between the receive loop, the senders and the ack timer.
	tunMu    sync.Mutex
	tunnel   *gre.Tunnel
	ackTimer *time.Timer
	sendBuf  []byte                 // frames without headroom; made on first use (rare: the link leaves room)
	ackBuf   [gre.MaxHeaderLen]byte // a standalone ack
	sendMsg  [1]gre.Message         // the one-packet batch of a send, reused
	// batch: while set, write queues this session's GRE packets there
	// (a send loop's, sendbatch.go) instead of sending them.
	batch *greBatch
	// warnedFar: a far GRE jump was logged (once per session; the
	// counter has the rest).
	warnedFar atomic.Bool

	bytesIn, bytesOut, pktsIn, pktsOut atomic.Uint64

	// The rate limit (ratelimit.go): rx polices what the peer sends (the
	// receive path's goroutine owns it), tx what it is sent (the send
	// path's); limitedIn/Out count the packets they dropped.
	rx, tx                ratelimit.Bucket
	txMu                  sync.Mutex                      // tx's Allow: the send loops of all TUN queues
	limit                 atomic.Pointer[ratelimit.Limit] // nil: none
	limitedIn, limitedOut atomic.Uint64

	// Accounting (accounting.go): set by onUp, before Config.Accounting
	// hears of the session; cause is set by whoever closes the link.
	result *ppp.AuthResult
	upAt   time.Time
	downAt atomic.Pointer[time.Time]
	cause  atomic.Uint32
}

// Info describes a session for the CLI and logs.
type Info struct {
	User     string        `json:"user"`
	Peer     string        `json:"peer"`
	IP       string        `json:"ip"`
	CallID   uint16        `json:"call_id"`
	PeerCall uint16        `json:"peer_call_id"`
	MPPE     string        `json:"mppe"`
	Uptime   time.Duration `json:"uptime_ns"`
	BytesIn  uint64        `json:"bytes_in"`
	BytesOut uint64        `json:"bytes_out"`
	PktsIn   uint64        `json:"packets_in"`
	PktsOut  uint64        `json:"packets_out"`
	// RateLimit is the limit in force (Mikrotik-Rate-Limit syntax, "rx/tx"
	// bits/s), "" none; LimitedIn/Out count the packets it dropped.
	RateLimit string `json:"rate_limit,omitempty"`
	// Routes are the subnets routed through the session (routes.go).
	Routes     []string `json:"routes,omitempty"`
	LimitedIn  uint64   `json:"limited_in,omitempty"`
	LimitedOut uint64   `json:"limited_out,omitempty"`
}

func (ss *Session) Info() Info {
	mppe, _ := ss.mppe.Load().(string)
	i := Info{
		User: ss.user, Peer: ss.peer.String(), CallID: ss.callID, PeerCall: ss.peerCallID,
		MPPE: mppe, Uptime: time.Since(ss.started).Round(time.Second),
		BytesIn: ss.bytesIn.Load(), BytesOut: ss.bytesOut.Load(),
		PktsIn: ss.pktsIn.Load(), PktsOut: ss.pktsOut.Load(),
		LimitedIn: ss.limitedIn.Load(), LimitedOut: ss.limitedOut.Load(),
	}
	if l := ss.limit.Load(); l != nil {
		i.RateLimit = l.String()
	}
	i.Routes = ss.Routes()
	if ss.ip.IsValid() {
		i.IP = ss.ip.String()
	}
	return i
}

func newSession(s *Server, c *pptp.Conn, callID, peerCallID, peerWindow uint16) *Session {
	ss := &Session{
		srv:        s,
		ctrl:       c,
		callID:     callID,
		peerCallID: peerCallID,
		peer:       c.RemoteAddr().Addr().Unmap(),
		started:    time.Now(),
		down:       make(chan struct{}),
		tunnel:     gre.NewTunnel(gre.TunnelConfig{PeerCallID: peerCallID, PeerWindow: peerWindow}),
		trace:      s.callTrace(c, callID),
	}
	log := s.log.With("call", callID, "peer", ss.peer.String())
	ss.link = ppp.New(ppp.Config{
		Role:          ppp.Server,
		Logger:        log,
		Tracer:        ss.pppTracer(),
		Name:          s.cfg.Name,
		MRU:           s.cfg.MRU,
		Auth:          s.cfg.Auth,
		Authenticator: s.authenticator(),
		AuthRetries:   s.cfg.AuthRetries,
		MPPE:          s.cfg.MPPE,
		EchoInterval:  s.cfg.EchoInterval,
		EchoFailure:   s.cfg.EchoFailure,
		Peer:          c.RemoteAddr(),
		Network: func(ctx context.Context, user string, res *ppp.AuthResult) (ppp.NetworkParams, error) {
			return s.assign(ss, user, res)
		},
		SendAt:       ss.sendFrame,
		Headroom:     gre.MaxHeaderLen,
		OnUp:         ss.onUp,
		OnDown:       ss.onDown,
		OnIP:         ss.onIP,
		InputInPlace: true,
		QuietUpDown:  true, // onUp and onDown log "session up", "session down"
		MPPECounters: &s.stats.MPPE,
	})
	return ss
}

func (ss *Session) start() {
	if !ss.startClaimed.CompareAndSwap(false, true) {
		return
	}
	ss.stopStartTimer()
	ss.link.Start()
}

func (ss *Session) stopStartTimer() {
	if t := ss.startTimer.Swap(nil); t != nil {
		t.Stop()
	}
}

func (ss *Session) stopLoginTimer() {
	if t := ss.loginTimer.Swap(nil); t != nil {
		t.Stop()
	}
}

func (ss *Session) onUp(info ppp.UpInfo) {
	ss.stopLoginTimer()
	ss.mppe.Store(info.MPPE)
	ss.result, ss.upAt = info.Result, time.Now()
	ss.wasUp.Store(true)
	ss.srv.stats.Login.up.Add(1)
	ss.srv.loggedIn(ss)
	ss.policyMu.Lock()
	if res := info.Result; res != nil && res.SessionTimeout > 0 {
		// Counted from the network phase, as pppd's maxconnect: the time
		// of service the limit grants starts when service does.
		ss.setSessionTimeout(res.SessionTimeout)
	}
	ss.startRateLimit(info.Result)
	ss.policyUp = true
	ss.policyMu.Unlock()
	if res := info.Result; res != nil && res.IdleTimeout > 0 {
		ss.idle.start(res.IdleTimeout, ss.activity, func() { ss.closeFor(aaa.CauseIdleTimeout, "idle timeout") })
	}
	if f := ss.srv.cfg.OnAddr; f != nil {
		f(info.Peer, true)
	}
	ss.grantRoutes(info.Result)
	if a := ss.srv.cfg.Accounting; a != nil {
		a.Start(ss.record(), ss.record)
	}
	mppe := info.MPPE
	if mppe == "" {
		mppe = "none" // cleartext (mppe "allow" with a refusing peer, or "off"): say so
	}
	ss.traceUp(info, mppe)
	ss.srv.log.Info("session up", "user", info.User, "peer", ss.peer.String(), "call", ss.callID,
		"ip", info.Peer.String(), "auth", info.Auth.String(), "mppe", mppe)
}

func (ss *Session) onDown(reason string) {
	now := time.Now()
	ss.downAt.Store(&now)
	// A call that ends before its link started must not start it later.
	// A flag, not a sync.Once: onDown can run inside start itself (the
	// link's callbacks queued by another goroutine are delivered by
	// whichever unlock drains them, Start's included), and a Once would
	// wait for itself there (boxd hung in TestBoxdChurn).
	ss.startClaimed.Store(true)
	ss.stopStartTimer()
	ss.stopLoginTimer()
	ss.policyMu.Lock()
	ss.policyUp = false
	ss.setSessionTimeout(0)
	ss.policyMu.Unlock()
	ss.idle.stop()
	ss.tunMu.Lock()
	if ss.ackTimer != nil {
		ss.ackTimer.Stop()
	}
	ss.tunMu.Unlock()
	s := ss.srv
	// A session replaced while its peer did not answer may have handed its
	// address to the new login already: that one's proxy ARP stays.
	if f := s.cfg.OnAddr; f != nil && ss.wasUp.Load() && s.sessionByIP(ss.ip) == ss {
		f(ss.ip, false)
	}
	ss.dropRoutes()
	s.remove(ss)
	close(ss.down)
	if ss.user == "" {
		s.stats.AuthFailures.Add(1)
	}
	if strings.HasPrefix(reason, ppp.ReasonReauthOtherUser) {
		s.stats.Auth.ReauthRefused.Add(1)
	}
	if !ss.cleared.Load() {
		// RFC 2637 §2.9: the server that ends a call tells the client.
		if err := ss.ctrl.DisconnectCall(ss.callID, pptp.DisconnectAdminDown, 0); err != nil {
			s.log.Debug("call-disconnect-notify not sent", "call", ss.callID, "err", err)
		}
	}
	if a := s.cfg.Accounting; a != nil && ss.wasUp.Load() {
		r := ss.record()
		r.Cause, r.Reason = ss.causeOf(reason), reason
		a.Stop(r)
	}
	ss.traceDown(reason)
	ip := ""
	if ss.ip.IsValid() {
		ip = ss.ip.String()
	}
	mppe, _ := ss.mppe.Load().(string)
	s.log.Info("session down", "user", ss.user, "peer", ss.peer.String(), "call", ss.callID, "ip", ip,
		"mppe", mppe, "reason", reason, "cause", ss.causeOf(reason).String(), "duration", time.Since(ss.started).Round(time.Millisecond).String(),
		"bytes_in", ss.bytesIn.Load(), "bytes_out", ss.bytesOut.Load(),
		"packets_in", ss.pktsIn.Load(), "packets_out", ss.pktsOut.Load())
}

// activity is a number that changes whenever a data packet passes.
func (ss *Session) activity() uint64 { return ss.pktsIn.Load() + ss.pktsOut.Load() }

// idleWatch ends a session that moved no data packet, either way, for a
// whole idle period (RFC 2865 §5.28 Idle-Timeout). It samples the packet
// counters a few times per period rather than touching the packet path.
type idleWatch struct {
	mu      sync.Mutex
	t       *time.Timer
	stopped bool
	last    uint64
	since   time.Time
}

func (w *idleWatch) start(idle time.Duration, activity func() uint64, expire func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last, w.since = activity(), time.Now()
	step := idle / 4
	var check func()
	check = func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.stopped {
			return
		}
		if a := activity(); a != w.last {
			w.last, w.since = a, time.Now()
		}
		left := idle - time.Since(w.since)
		if left <= 0 {
			w.stopped = true
			go expire()
			return
		}
		w.t = time.AfterFunc(min(step, left), check)
	}
	w.t = time.AfterFunc(step, check)
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.t != nil {
		w.t.Stop()
	}
}
