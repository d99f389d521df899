package pptp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/internal/lograte"
)

// Role says which end of the control connection a Conn is.
type Role uint8

const (
	// RoleServer is the PAC: it accepts the TCP connection, answers
	// Start-Control-Connection-Request and Outgoing-Call-Request.
	RoleServer Role = iota
	// RoleClient is the PNS: it starts the connection and places calls.
	RoleClient
)

func (r Role) String() string {
	if r == RoleServer {
		return "server"
	}
	return "client"
}

// State is the control connection state (RFC 2637 §3.1.1, §3.1.2).
type State uint8

const (
	StateIdle          State = iota // TCP up; the server waits for SCCRQ, the client has not sent it
	StateWaitCtlReply               // client: SCCRQ sent, waiting for SCCRP
	StateEstablished                // calls may be placed
	StateWaitStopReply              // StopCCRQ sent, waiting for StopCCRP
	StateClosed                     // the connection is gone
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateWaitCtlReply:
		return "wait-ctl-reply"
	case StateEstablished:
		return "established"
	case StateWaitStopReply:
		return "wait-stop-reply"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("state-%d", uint8(s))
}

// CallState is the state of one call (RFC 2637 §3.2.1, §3.2.2).
type CallState uint8

const (
	CallWaitReply      CallState = iota + 1 // client: OCRQ sent, waiting for OCRP
	CallEstablished                         // data may flow
	CallWaitDisconnect                      // client: Call-Clear-Request sent, waiting for CDN
)

func (s CallState) String() string {
	switch s {
	case CallWaitReply:
		return "wait-reply"
	case CallEstablished:
		return "established"
	case CallWaitDisconnect:
		return "wait-disconnect"
	}
	return fmt.Sprintf("call-state-%d", uint8(s))
}

// Handler receives the call events of a control connection; pkg/session
// implements it. Its methods run on the connection's Serve goroutine, so the
// connection reads nothing while one runs. They may call DisconnectCall, and
// Close, which then returns at once and stops the connection afterwards.
type Handler interface {
	// OutgoingCall is a new call on c (server side only). It returns our
	// call ID, unique among all calls of the server: the GRE key the peer
	// will send to us. peerCallID is the peer's call ID, our GRE key to it.
	// A non-nil error refuses the call: the reply carries result
	// general-error with error code no-resource if errors.Is(err,
	// ErrNoResource), pac-error otherwise.
	OutgoingCall(c *Conn, peerCallID uint16, req *OutgoingCallRequest) (callID uint16, err error)
	// SetLinkInfo passes on the peer's PPP ACCMs for our call callID
	// (RFC 2637 §2.15).
	SetLinkInfo(c *Conn, callID uint16, sendACCM, recvACCM uint32)
	// CallCleared says our call callID is gone because the peer cleared it
	// or the control connection ended. It is called once for every
	// established call that did not end through DisconnectCall (server) or
	// ClearCall (client).
	CallCleared(c *Conn, callID uint16)
}

// ErrNoResource is what a Handler returns (wrapped or not) to refuse a call
// for lack of resources, such as an exhausted address pool.
var ErrNoResource = errors.New("pptp: no resources for the call")

// ErrClosed is returned by the methods of a Conn that has ended.
var ErrClosed = errors.New("pptp: control connection closed")

// Config holds the parameters of a control connection. Zero fields take
// the defaults noted.
type Config struct {
	HostName         string // SCCRQ/SCCRP Host Name; default "pptpbox"
	VendorName       string // default "pptpbox"
	FirmwareRevision uint16
	// MaxChannels is the server's SCCRP Maximum Channels (RFC 2637 §2.2:
	// the PPP sessions the PAC supports); default 65535, the session limit
	// is enforced by the Handler. A client always sends 0 (§2.1 SHOULD).
	MaxChannels uint16
	// RecvWindow is our Packet Receive Window Size sent in OCRQ/OCRP
	// (RFC 2637 §2.7/§2.8): how many unacknowledged GRE packets we take.
	// Default 64.
	RecvWindow uint16
	// ProcessingDelay is our Packet Processing Delay in 1/10 s; default 0.
	ProcessingDelay uint16
	// ConnectSpeed is the OCRP Connect Speed in bits/s; default 100 Mbit/s.
	ConnectSpeed uint32
	// EchoInterval is how long the connection may be silent before we send
	// an Echo-Request; EchoTimeout how long we then wait for any message
	// before closing (RFC 2637 §2.5: 60 s each). Defaults 60s and 60s.
	EchoInterval time.Duration
	EchoTimeout  time.Duration
	// StartTimeout bounds the time from TCP connect to an established
	// control connection (a peer that never sends SCCRQ). Default 60s.
	StartTimeout time.Duration
	// MaxCalls caps the calls one control connection holds at once (server
	// side); 0 means no cap. A real client places one call per connection;
	// an Outgoing-Call-Request beyond the cap is answered Do-Not-Accept
	// (RFC 2637 §2.8 result 7) and counted in Counters.CallsOverLimit.
	MaxCalls int
	// StopTimeout is how long Close waits for Stop-Control-Connection-Reply.
	// Default 5s.
	StopTimeout time.Duration
	// WriteTimeout bounds one message write; default 10s.
	WriteTimeout time.Duration
	// Counters, shared by all connections of a server when set; otherwise
	// the connection has its own.
	Counters *Counters
}

func (cfg Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.HostName, "pptpbox")
	def(&cfg.VendorName, "pptpbox")
	if cfg.MaxChannels == 0 {
		cfg.MaxChannels = 65535
	}
	if cfg.RecvWindow == 0 {
		cfg.RecvWindow = 64
	}
	if cfg.ConnectSpeed == 0 {
		cfg.ConnectSpeed = 100_000_000
	}
	dur(&cfg.EchoInterval, 60*time.Second)
	dur(&cfg.EchoTimeout, 60*time.Second)
	dur(&cfg.StartTimeout, 60*time.Second)
	dur(&cfg.StopTimeout, 5*time.Second)
	dur(&cfg.WriteTimeout, 10*time.Second)
	if cfg.Counters == nil {
		cfg.Counters = new(Counters)
	}
	return cfg
}

// Counters count control connection events, for the CLI and metrics.
// All fields are updated atomically.
type Counters struct {
	MessagesIn    atomic.Uint64
	MessagesOut   atomic.Uint64
	BadMagic      atomic.Uint64 // stream out of sync: connection closed
	BadLength     atomic.Uint64 // absurd Length field: connection closed
	Malformed     atomic.Uint64 // known type, wrong length: connection closed
	Unknown       atomic.Uint64 // unknown or management message: skipped
	Unexpected    atomic.Uint64 // valid message in the wrong state or role: ignored
	BadCallID     atomic.Uint64 // message for a call this connection does not have
	StartTimeouts atomic.Uint64
	EchoTimeouts  atomic.Uint64
	WANErrors     atomic.Uint64 // WAN-Error-Notify received
	CallsOpened   atomic.Uint64
	CallsRefused  atomic.Uint64
	// CallsOverLimit counts Outgoing-Call-Requests refused by MaxCalls
	// (also counted in CallsRefused).
	CallsOverLimit atomic.Uint64
	CallsCleared   atomic.Uint64

	refuseLog lograte.Limiter // refused calls are logged once a second
}

// call is one call of the connection, keyed by our call ID.
type call struct {
	id, peerID uint16
	state      CallState
	reply      chan *OutgoingCallReply // client: the OCRP, once
	cleared    chan struct{}           // client: closed on CDN after ClearCall
}

// errStopped ends Serve after an orderly Stop-Control-Connection exchange.
var errStopped = errors.New("pptp: control connection stopped")

// Conn is one PPTP control connection, server or client side. Serve runs its
// receive loop; the other methods may be called from any goroutine. Writes
// are serialised, so a message is never interleaved with another.
type Conn struct {
	nc     net.Conn
	cfg    Config
	h      Handler
	log    *slog.Logger
	role   Role
	remote netip.AddrPort
	ctr    *Counters

	wmu  sync.Mutex // serialises writes to nc
	wbuf []byte

	mu         sync.Mutex
	state      State
	calls      map[uint16]*call
	started    time.Time // TCP connect, for StartTimeout
	lastRx     time.Time
	echoWait   bool // an Echo-Request of ours is unanswered
	echoSentAt time.Time
	echoID     uint32
	serial     uint16                            // client: Call Serial Number of the next OCRQ
	startReply chan *StartControlConnectionReply // client: SCCRP, once
	stopReply  chan struct{}                     // closed on StopCCRP
	closeErr   error                             // why the connection ends; first one wins

	serving   atomic.Bool
	inHandler atomic.Bool // Serve is inside a Handler method
	closeOnce sync.Once
	done      chan struct{} // closed when Serve has returned
}

// NewServerConn wraps an accepted TCP connection as the PAC side. Run Serve.
func NewServerConn(nc net.Conn, cfg Config, h Handler, log *slog.Logger) *Conn {
	return newConn(nc, cfg, h, log, RoleServer)
}

// NewClientConn wraps a TCP connection to a PAC as the PNS side. Run Serve
// in a goroutine, then Start. h may be nil; a client is never asked for
// OutgoingCall.
func NewClientConn(nc net.Conn, cfg Config, h Handler, log *slog.Logger) *Conn {
	return newConn(nc, cfg, h, log, RoleClient)
}

func newConn(nc net.Conn, cfg Config, h Handler, log *slog.Logger, role Role) *Conn {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	c := &Conn{
		nc: nc, cfg: cfg, h: h, role: role, ctr: cfg.Counters,
		calls: make(map[uint16]*call), stopReply: make(chan struct{}),
		startReply: make(chan *StartControlConnectionReply, 1),
		done:       make(chan struct{}),
	}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.remote = ta.AddrPort()
	} else if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.remote = ap
	}
	// A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; GRE
	// packets name them as plain IPv4, and the two must compare equal.
	c.remote = netip.AddrPortFrom(c.remote.Addr().Unmap(), c.remote.Port())
	c.log = log.With("pptp", role.String(), "peer", c.remote.String())
	now := time.Now()
	c.started, c.lastRx = now, now
	return c
}

// Dial connects to a PAC at addr ("host:port"), runs Serve in the
// background and starts the control connection.
func Dial(ctx context.Context, addr string, cfg Config, h Handler, log *slog.Logger) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pptp: dial %s: %w", addr, err)
	}
	c := NewClientConn(nc, cfg, h, log)
	c.serving.Store(true) // before the goroutine, so a Close below waits for it
	go c.Serve(context.Background())
	if err := c.Start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// RemoteAddr is the peer's TCP address (zero for transports without one).
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// Role is the end of the connection c is.
func (c *Conn) Role() Role { return c.role }

// Counters returns the counters c updates.
func (c *Conn) Counters() *Counters { return c.ctr }

// State is the current control connection state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// CallState returns the state of our call callID and whether it exists.
func (c *Conn) CallState(callID uint16) (CallState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.calls[callID]; ok {
		return cl.state, true
	}
	return 0, false
}

// Done is closed when Serve has returned and every call is cleared.
func (c *Conn) Done() <-chan struct{} { return c.done }

// send writes one message; a write error closes the connection.
func (c *Conn) send(m Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.sendLocked(m)
}

func (c *Conn) sendLocked(m Message) error {
	c.wbuf = m.Append(c.wbuf[:0])
	c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if _, err := c.nc.Write(c.wbuf); err != nil {
		err = fmt.Errorf("pptp: sending %s: %w", lowerName(m.Type()), err)
		c.fail(err)
		return err
	}
	c.ctr.MessagesOut.Add(1)
	c.log.Debug("sent", "msg", m.Type().String(), "body", m)
	return nil
}

// fail records why the connection ends and closes the transport, which
// ends Serve's read.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = err
	}
	c.mu.Unlock()
	c.nc.Close()
}

// Serve runs the connection (call it once) until it ends: the peer stops it or closes
// TCP, a protocol error or timeout, Close, or ctx is done. On return every
// call has been cleared (Handler.CallCleared called). It returns nil after
// an orderly stop and the reason otherwise.
func (c *Conn) Serve(ctx context.Context) error {
	c.serving.Store(true)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	go c.keepalive()

	buf := make([]byte, MaxMessageLen)
	var err error
	for {
		var m Message
		m, err = ReadMessage(c.nc, buf)
		if err != nil {
			if errors.Is(err, ErrUnknownMessage) {
				// RFC 2637 leaves management messages undefined; skipping
				// unknown types keeps us working with extended peers.
				c.ctr.Unknown.Add(1)
				c.log.Debug("skipped unknown message", "err", err)
				continue
			}
			c.countReadError(err)
			break
		}
		c.ctr.MessagesIn.Add(1)
		c.log.Debug("rcvd", "msg", m.Type().String(), "body", m)
		c.mu.Lock()
		c.lastRx = time.Now()
		c.echoWait = false // any message proves the peer alive
		c.mu.Unlock()
		if err = c.dispatch(m); err != nil {
			break
		}
	}
	return c.shutdown(err)
}

func (c *Conn) countReadError(err error) {
	switch {
	case errors.Is(err, ErrBadMagic):
		c.ctr.BadMagic.Add(1)
	case errors.Is(err, ErrBadLength):
		c.ctr.BadLength.Add(1)
	case errors.Is(err, ErrMalformed):
		c.ctr.Malformed.Add(1)
	default:
		return
	}
	c.log.Warn("protocol error, closing", "err", err)
}

// shutdown ends the connection after Serve's loop: it closes TCP, clears
// every call and wakes every waiter.
func (c *Conn) shutdown(readErr error) error {
	c.nc.Close()
	c.mu.Lock()
	reason := c.closeErr
	if reason == nil {
		reason = readErr
		c.closeErr = readErr
	}
	// A peer that hangs up instead of answering our Stop-Control-
	// Connection-Request (pptp-linux may, once its last call is gone,
	// even before that request is written) still ends the connection the
	// way we asked.
	stopping := c.state == StateWaitStopReply && transportEnded(reason)
	orderly := errors.Is(reason, errStopped) || errors.Is(reason, ErrClosed) || stopping
	c.state = StateClosed
	calls := c.calls
	c.calls = make(map[uint16]*call)
	c.mu.Unlock()

	for _, cl := range calls {
		if cl.state == CallEstablished {
			c.callCleared(cl.id)
		}
	}
	close(c.done)
	if orderly {
		c.log.Info("control connection closed")
		return nil
	}
	c.log.Info("control connection lost", "err", reason)
	return reason
}

// transportEnded says whether err is the TCP connection going away under
// a read or write (the peer closed or reset it, or our side closed it on
// seeing that), as opposed to a protocol error or a timeout.
func transportEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *Conn) callCleared(id uint16) {
	c.ctr.CallsCleared.Add(1)
	if c.h != nil {
		c.inHandler.Store(true)
		defer c.inHandler.Store(false)
		c.h.CallCleared(c, id)
	}
}

// keepalive enforces StartTimeout and the echo keep-alive (RFC 2637 §2.5)
// until the connection ends.
func (c *Conn) keepalive() {
	tick := min(c.cfg.EchoInterval, c.cfg.EchoTimeout, c.cfg.StartTimeout) / 4
	t := time.NewTicker(max(tick, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			if err := c.checkTimers(now); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

func (c *Conn) checkTimers(now time.Time) error {
	c.mu.Lock()
	switch c.state {
	case StateIdle, StateWaitCtlReply:
		started := c.started
		c.mu.Unlock()
		if now.Sub(started) > c.cfg.StartTimeout {
			c.ctr.StartTimeouts.Add(1)
			c.log.Warn("no control connection set-up in time, closing", "timeout", c.cfg.StartTimeout)
			return fmt.Errorf("pptp: start-control-connection: no exchange within %v", c.cfg.StartTimeout)
		}
		return nil
	case StateEstablished:
	default:
		c.mu.Unlock()
		return nil
	}
	if c.echoWait {
		sent := c.echoSentAt
		c.mu.Unlock()
		if now.Sub(sent) > c.cfg.EchoTimeout {
			c.ctr.EchoTimeouts.Add(1)
			c.log.Warn("no echo reply, closing", "timeout", c.cfg.EchoTimeout)
			return fmt.Errorf("pptp: echo-request: no reply within %v", c.cfg.EchoTimeout)
		}
		return nil
	}
	if now.Sub(c.lastRx) < c.cfg.EchoInterval {
		c.mu.Unlock()
		return nil
	}
	c.echoID++
	c.echoWait, c.echoSentAt = true, now
	id := c.echoID
	c.mu.Unlock()
	c.send(&EchoRequest{Identifier: id})
	return nil
}

// Close ends the connection the orderly way (RFC 2637 §3.1): a server first
// sends Call-Disconnect-Notify for each call, then Stop-Control-Connection-
// Request; Close waits up to StopTimeout for the reply, closes TCP and, when
// Serve runs, waits for it to clear the calls. Concurrent and repeated calls
// wait for the first. Called while a Handler method runs (from it, say),
// Close only starts the stop and returns: Serve cannot read the reply or
// finish while the Handler holds it.
func (c *Conn) Close() error {
	if c.inHandler.Load() {
		go c.closeOnce.Do(c.stop)
		return nil
	}
	c.closeOnce.Do(c.stop)
	if c.serving.Load() {
		<-c.done
	}
	return nil
}

// stop is the body of the first Close.
func (c *Conn) stop() {
	c.mu.Lock()
	st := c.state
	var ids []uint16
	if st == StateEstablished {
		c.state = StateWaitStopReply
		if c.role == RoleServer {
			for id := range c.calls {
				ids = append(ids, id)
			}
		}
	}
	c.mu.Unlock()
	if st == StateEstablished {
		for _, id := range ids {
			// The calls die with the connection; the Handler hears of them
			// through CallCleared when Serve ends.
			c.sendCDN(id, DisconnectAdminDown, 0)
		}
		if c.send(&StopControlConnectionRequest{Reason: StopNone}) == nil {
			select {
			case <-c.stopReply:
			case <-c.done:
			case <-time.After(c.cfg.StopTimeout):
				c.log.Warn("no stop-control-connection-reply", "timeout", c.cfg.StopTimeout)
			}
		}
	}
	c.fail(ErrClosed)
}

// sendCDN sends Call-Disconnect-Notify for our call id.
func (c *Conn) sendCDN(id uint16, result DisconnectResult, cause uint16) error {
	return c.send(&CallDisconnectNotify{CallID: id, Result: result, Cause: cause})
}

// DisconnectCall ends our call callID from the server side: it forgets the
// call and sends Call-Disconnect-Notify (RFC 2637 §2.13). The Handler is
// not told (the caller knows).
func (c *Conn) DisconnectCall(callID uint16, result DisconnectResult, cause uint16) error {
	if c.role != RoleServer {
		return fmt.Errorf("pptp: call-disconnect-notify: only the server sends it; use ClearCall")
	}
	c.mu.Lock()
	if c.state == StateClosed {
		c.mu.Unlock()
		return ErrClosed
	}
	_, ok := c.calls[callID]
	delete(c.calls, callID)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("pptp: call-disconnect-notify: no call %d", callID)
	}
	c.ctr.CallsCleared.Add(1)
	c.log.Info("call disconnected", "call", callID, "result", result.String(), "cause", cause)
	return c.sendCDN(callID, result, cause)
}
