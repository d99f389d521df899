package pptp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
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
	// ErrNoResource), pac-error otherwise; result do-not-accept if
	// errors.Is(err, ErrDoNotAccept).
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

// ErrDoNotAccept is what a Handler returns (wrapped or not) to refuse a
// call by policy: the reply carries result do-not-accept (RFC 2637 §2.8,
// result 7: the call was administratively prohibited).
var ErrDoNotAccept = errors.New("pptp: call not accepted")

// ErrClosed is returned by the methods of a Conn that has ended.
var ErrClosed = errors.New("pptp: control connection closed")

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

	wmu sync.Mutex // serialises writes to nc; messages are built in a msgBufs buffer
	// hdr takes the header of the next message: an idle connection waits
	// on these bytes alone, and borrows a whole message's buffer (msgBufs)
	// only while one arrives.
	hdr [HeaderLen]byte

	mu         sync.Mutex
	state      State
	calls      map[uint16]*call
	started    time.Time // TCP connect, for StartTimeout
	lastRx     time.Time
	echoWait   bool // an Echo-Request of ours is unanswered
	echoSentAt time.Time
	echoID     uint32
	keepTimer  *time.Timer                       // keepalive.go; set under mu
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

// NetConn is the transport c runs on. Closing it ends the connection at
// once with nothing sent, as a client that crashed or lost its link does
// (pkg/client's aborts); reading or writing it corrupts the message stream.
func (c *Conn) NetConn() net.Conn { return c.nc }

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
