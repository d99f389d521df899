package ppp

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// Role says which side of the authentication a link plays.
type Role int

const (
	// Server authenticates the peer and hands out addresses (pptpd's side).
	Server Role = iota
	// Client authenticates itself and accepts an address (pptp-linux's side).
	Client
)

func (r Role) String() string {
	switch r {
	case Server:
		return "server"
	case Client:
		return "client"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

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

// Config configures one Link. Send is required; the server role also needs
// Authenticator and Network.
type Config struct {
	Role   Role
	Logger *slog.Logger // nil: discard
	// Name is our CHAP name (e.g. "pptpbox"), sent in Challenge packets.
	Name string
	// MRU we ask the peer to respect; 0 means 1400.
	MRU uint16
	// Auth: server role, the protocols we allow in preference order
	// (empty: MS-CHAPv2 only); client role, the protocols we agree to use,
	// preferred first (empty: MS-CHAPv2, MS-CHAP, CHAP; PAP only if listed).
	Auth          []AuthProto
	Authenticator Authenticator
	// AuthRetries: how many times a peer may retry after a failed login
	// on the same link (pppd allows none).
	AuthRetries int
	// Username and Password are the client role's credentials.
	Username, Password string
	MPPE               MPPEPolicy
	// Network picks the addresses once the peer is authenticated (server
	// role), so that a RADIUS Framed-IP-Address can choose.
	Network func(ctx context.Context, user string, res *AuthResult) (NetworkParams, error)
	// Peer is the transport peer, passed on in AuthRequest.
	Peer netip.AddrPort
	// EchoInterval: LCP Echo-Request period once LCP is open (0: none).
	// EchoFailure unanswered requests take the link down (0 means 3).
	EchoInterval time.Duration
	EchoFailure  int
	// RestartTimeout is the RFC 1661 §4.6 restart timer (0: 3s).
	RestartTimeout time.Duration

	// Send transmits one PPP frame (protocol field and information, ACFC/PFC
	// applied as negotiated). It must not retain frame and may be called
	// from any goroutine. Control frames are sent with no lock held;
	// WriteIP calls it with the transmit lock held, so Send must not
	// synchronously call back into this Link (a GRE socket write never does).
	Send func(frame []byte)
	// SendAt, when set, is called instead of Send with the frame in
	// buf[off:] and buf[:off] free for the lower layer's headers: off is at
	// least Headroom, so a GRE header can be written in place and the frame
	// sent without a copy. The same rules as for Send apply; buf is not
	// retained.
	SendAt func(buf []byte, off int)
	// Headroom is how many bytes SendAt finds free in front of every frame
	// (PPTP: gre.MaxHeaderLen). WriteIPAt needs Headroom+DataHeadroom.
	Headroom int
	// OnUp reports the network phase open (IPCP opened, and CCP when MPPE is required).
	OnUp func(UpInfo)
	// OnDown reports the end of the link, exactly once.
	OnDown func(reason string)
	// OnIP receives one inbound IPv4 packet, decrypted; it must not retain pkt
	// (but see InputInPlace).
	OnIP func(pkt []byte)
	// InputInPlace lets Input decrypt an MPPE frame where it lies, in the
	// caller's buffer, instead of into the link's own: OnIP's pkt is then a
	// part of the frame passed to Input, and stays valid as long as the
	// caller keeps that buffer (so a receive loop may batch its TUN writes).
	InputInPlace bool
	// MPPECounters, if set, counts the inbound MPPE packets the decrypter
	// dropped to bound its work (mppe.ErrFarJump, mppe.ErrRekeyLimit);
	// one Counters may serve many links.
	MPPECounters *mppe.Counters
	// Rand supplies challenges and magic numbers (crypto/rand when nil).
	Rand io.Reader
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
	l.rx.buf = make([]byte, 0, 2048)
	l.tx.frame = make([]byte, cfg.Headroom+DataHeadroom+2048)
	return l
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
	l.tx.mu.Lock()
	acfc, pfc := l.tx.acfc, l.tx.pfc
	l.tx.mu.Unlock()
	hr := l.cfg.Headroom
	frame := p.Append(frameHeader(make([]byte, hr, hr+8+len(p.Data)), proto, acfc, pfc))
	l.stat.ctlOut.Add(1)
	send := l.cfg.SendAt
	l.later(func() { send(frame, hr) })
}

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
	l.log.Info("PPP link down", "reason", reason, "user", l.auth.user)
	if down := l.cfg.OnDown; down != nil {
		l.later(func() { down(reason) })
	}
}
