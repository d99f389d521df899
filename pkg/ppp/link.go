package ppp

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Phase is a link phase (RFC 1661 §3.2).
type Phase int

const (
	PhaseDead Phase = iota
	PhaseEstablish
	PhaseAuthenticate
	PhaseNetwork
	PhaseTerminate
)

func (p Phase) String() string {
	switch p {
	case PhaseDead:
		return "dead"
	case PhaseEstablish:
		return "establish"
	case PhaseAuthenticate:
		return "authenticate"
	case PhaseNetwork:
		return "network"
	case PhaseTerminate:
		return "terminate"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Link is one PPP session over a lower layer that delivers whole frames
// (PPTP's GRE).
//
// Concurrency: Input, the restart/echo timers and authentication results
// are serialised by one mutex; callbacks (Send, OnUp, OnDown) that arise
// under it are queued and delivered in order after it is released, by
// whichever goroutine released it, so callbacks may re-enter the Link.
// WriteIP takes only the transmit lock and may run concurrently with all of
// that. OnIP is called from Input's goroutine without any lock held.
type Link struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	queue    []func() // callbacks to run once mu is released
	draining bool
	phase    Phase
	dead     bool
	reason   string // why the link is going down
	started  time.Time
	ctx      context.Context // cancelled on link down (auth, Network calls)
	cancel   context.CancelFunc

	lcp, ipcp, ccp *fsm
	lcpL           *lcpLayer
	ipcpL          *ipcpLayer
	ccpL           *ccpLayer
	auth           authState
	netUp          bool
	upReported     bool // OnUp ran; a later NCP renegotiation only reopens the data path
	ccpDone        bool // CCP finished without MPPE, and MPPE is not required
	ipcpWait       bool // MPPE required: IPCP starts once CCP is open both ways

	rx   rxState
	tx   txState
	stat stats
}

// New makes a link; nothing is sent before Start.
func New(cfg Config) *Link {
	if cfg.MRU == 0 {
		cfg.MRU = 1400
	}
	if cfg.RestartTimeout == 0 {
		cfg.RestartTimeout = 3 * time.Second
	}
	if cfg.EchoFailure == 0 {
		cfg.EchoFailure = 3
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	var auth []AuthProto
	for _, p := range cfg.Auth {
		if p >= AuthPAP && p <= AuthMSCHAPv2 && !slices.Contains(auth, p) {
			auth = append(auth, p)
		}
	}
	cfg.Auth = auth
	if len(cfg.Auth) == 0 {
		// PAP sends the password in clear: never by default, either role.
		if cfg.Role == Server {
			cfg.Auth = []AuthProto{AuthMSCHAPv2}
		} else {
			cfg.Auth = []AuthProto{AuthMSCHAPv2, AuthMSCHAPv1, AuthCHAPMD5}
		}
	}
	if cfg.Headroom < 0 {
		cfg.Headroom = 0
	}
	if cfg.SendAt == nil {
		send := cfg.Send
		if send == nil {
			send = func([]byte) {}
		}
		cfg.SendAt = func(buf []byte, off int) { send(buf[off:]) }
	}
	if cfg.Name == "" {
		cfg.Name = "pptpbox"
	}
	if m := cfg.MPPE; m.enabled() && !m.Bits40 && !m.Bits56 && !m.Bits128 {
		cfg.MPPE.Bits128 = true
	}
	if !cfg.MPPE.AllowStateful {
		cfg.MPPE.PreferStateful = false
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Link{cfg: cfg, log: log}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.lcpL = newLCP(l)
	l.lcp = newFSM(l, ProtoLCP, l.lcpL)
	l.ipcpL = &ipcpLayer{l: l}
	l.ipcp = newFSM(l, ProtoIPCP, l.ipcpL)
	l.ccpL = newCCP(l)
	l.ccp = newFSM(l, ProtoCCP, l.ccpL)
	// rx.buf and tx.frame are made on first use: a link whose caller
	// decrypts in place and sends with headroom (pkg/session) never needs
	// them, and an idle link holds neither.
	return l
}

// upDownLevel is the level of the link's up and down lines (QuietUpDown).
func (l *Link) upDownLevel() slog.Level {
	if l.cfg.QuietUpDown {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// Start tells the link its lower layer is up: LCP Open and Up (RFC 1661 §4.1).
func (l *Link) Start() {
	l.lock()
	defer l.unlock()
	if l.dead || l.phase != PhaseDead {
		return
	}
	l.started = time.Now()
	l.setPhase(PhaseEstablish)
	l.lcp.Open()
	l.lcp.Up()
}

// Close terminates the link: LCP Terminate-Request, then OnDown after the
// Terminate-Ack or the restart timer.
func (l *Link) Close(reason string) {
	l.lock()
	defer l.unlock()
	l.close(reason)
}

// Hangup tells the link its lower layer is gone (RFC 1661 §4.1 Down event):
// the call was cleared, so there is no one left to send a Terminate-Request
// to, nor to wait for. The link ends at once; OnDown gets reason unless an
// earlier one was recorded (a peer's Terminate-Request, say).
func (l *Link) Hangup(reason string) {
	l.lock()
	defer l.unlock()
	if l.dead {
		return
	}
	l.setReason(reason)
	l.lcp.Down()
	l.linkDead()
}

// Input handles one received PPP frame. It must not be called concurrently
// with itself; frame is not retained, and is modified only with
// Config.InputInPlace.
func (l *Link) Input(frame []byte) {
	proto, info, err := DecodeFrame(frame)
	if err != nil {
		l.stat.drop(DropMalformed)
		l.log.Debug(err.Error())
		return
	}
	if proto == ProtoIPv4 || proto == ProtoCompDG {
		l.inputData(proto, info)
		return
	}
	l.lock()
	defer l.unlock()
	l.inputControl(proto, info)
}

// inputControl dispatches one control frame (called with the lock held):
// LCP at any time, the others in the phases that admit them, and a
// Protocol-Reject for protocols we do not run.
func (l *Link) inputControl(proto Proto, info []byte) {
	if l.dead {
		return
	}
	p, err := ParsePacket(info)
	if err != nil {
		if proto == ProtoLCP || proto == ProtoIPCP || proto == ProtoCCP || proto == ProtoPAP || proto == ProtoCHAP {
			l.stat.drop(DropMalformed)
			l.log.Debug(fmt.Sprintf("rcvd %v: %v", proto, err))
			return
		}
	}
	known := err == nil
	if known && l.log.Enabled(context.Background(), slog.LevelDebug) {
		switch proto {
		case ProtoLCP, ProtoIPCP, ProtoCCP, ProtoPAP, ProtoCHAP:
			l.log.Debug("rcvd " + describe(proto, p))
		}
	}
	if known && l.cfg.Tracer != nil {
		switch proto {
		case ProtoLCP, ProtoIPCP, ProtoCCP, ProtoPAP, ProtoCHAP:
			l.tracePacket("rcvd", proto, p)
		}
	}
	l.stat.ctlIn.Add(1)
	switch proto {
	case ProtoLCP:
		if p.Code == CodeTermReq && l.lcp.state == StateOpened {
			l.setReason(fmt.Sprintf("LCP terminated by peer (%s)", printable(p.Data)))
		}
		l.lcp.input(p)
		return
	}
	// RFC 1661 §3.4-3.5: other protocols wait for LCP to open, and network
	// protocols for authentication to finish.
	if l.lcp.state != StateOpened {
		l.log.Debug(fmt.Sprintf("discarded %v frame: LCP not open", proto))
		l.stat.drop(DropNotUp)
		return
	}
	switch proto {
	case ProtoPAP, ProtoCHAP:
		if l.phase == PhaseAuthenticate || l.phase == PhaseNetwork {
			l.authInput(proto, p)
		}
		return
	case ProtoIPCP, ProtoCCP:
		if proto == ProtoCCP && !l.mppePolicy().enabled() {
			// Protocol-Reject below: we compress nothing (RFC 1962 §1).
			// The policy, not the config: an authenticator may have
			// required MPPE on a link configured without it.
			break
		}
		if l.phase != PhaseNetwork {
			l.log.Debug(fmt.Sprintf("discarded %v frame before network phase", proto))
			return
		}
		if proto == ProtoIPCP {
			l.ipcp.input(p)
		} else {
			l.ccp.input(p)
		}
		return
	}
	l.lcpL.protocolReject(proto, info)
}

// Phase reports the current link phase.
func (l *Link) Phase() Phase {
	l.lock()
	defer l.unlock()
	return l.phase
}

// lock and unlock wrap mu; unlock delivers the callbacks queued meanwhile,
// in order, outside the lock (see Link).
func (l *Link) lock() { l.mu.Lock() }

func (l *Link) unlock() {
	if l.draining || len(l.queue) == 0 {
		l.mu.Unlock()
		return
	}
	l.draining = true
	for len(l.queue) > 0 {
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		for _, fn := range q {
			fn()
		}
		l.mu.Lock()
	}
	l.draining = false
	l.mu.Unlock()
}

// later queues fn to run after the lock is released.
func (l *Link) later(fn func()) { l.queue = append(l.queue, fn) }

// afterFunc runs fn under the link lock after d, unless the link is dead.
func (l *Link) afterFunc(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() {
		l.lock()
		defer l.unlock()
		if !l.dead {
			fn()
		}
	})
}

func (l *Link) setPhase(p Phase) {
	if l.phase != p {
		l.log.Debug("phase " + p.String())
		l.phase = p
	}
}

// sendPacket logs and queues one control packet of proto.
func (l *Link) sendPacket(proto Proto, p Packet) {
	if l.dead {
		return
	}
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("sent " + describe(proto, p))
	}
	if l.cfg.Tracer != nil {
		l.tracePacket("sent", proto, p)
	}
	l.tx.mu.Lock()
	acfc, pfc := l.tx.acfc, l.tx.pfc
	l.tx.mu.Unlock()
	hr := l.cfg.Headroom
	frame := p.Append(frameHeader(make([]byte, hr, hr+8+len(p.Data)), proto, acfc, pfc))
	l.stat.ctlOut.Add(1)
	send := l.cfg.SendAt
	l.later(func() { send(frame, hr) })
}

// setReason records the first cause of a link going down.
func (l *Link) setReason(r string) {
	if l.reason == "" {
		l.reason = r
	}
}

// close starts LCP termination with reason (the first reason wins).
func (l *Link) close(reason string) {
	if l.dead {
		return
	}
	l.setReason(reason)
	l.log.Debug("closing: " + reason)
	l.setPhase(PhaseTerminate)
	l.lcp.Close(reason)
	if s := l.lcp.state; s == StateClosed || s == StateInitial || s == StateStopped {
		l.linkDead()
	}
}

// linkDead ends the link: everything stops and OnDown runs once.
func (l *Link) linkDead() {
	if l.dead {
		return
	}
	reason := l.reason
	if reason == "" {
		reason = "link terminated"
	}
	l.netDown()
	l.authStop()
	l.lcpL.stopEcho()
	for _, f := range []*fsm{l.lcp, l.ipcp, l.ccp} {
		f.stopTimer()
	}
	l.setPhase(PhaseDead)
	l.dead = true
	l.cancel()
	l.tx.mu.Lock()
	l.tx.closed = true
	l.tx.mu.Unlock()
	l.log.Log(context.Background(), l.upDownLevel(), "PPP link down", "reason", reason, "user", l.auth.user)
	if l.tracing() {
		l.traceNote("lcp", "link down: "+reason)
	}
	if down := l.cfg.OnDown; down != nil {
		l.later(func() { down(reason) })
	}
}
