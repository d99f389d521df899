// Package client is a PPTP client in Go: control connection, enhanced GRE and
// a client-role PPP link with MS-CHAPv2 and MPPE. It is the load generator of
// the benchmarks, the peer of the in-process end-to-end tests, and the dial-out
// side of site-to-site links (cmd/pptpc).
//
// Several clients share one GRE socket through a Mux, which demultiplexes
// incoming packets by the call ID in the GRE key.
package client

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

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// Config describes one client call.
type Config struct {
	Server         string     // control address, "host:1723"
	ServerAddr     netip.Addr // where GRE goes (the server's address)
	User, Password string
	Auth           []ppp.AuthProto // protocols we agree to (empty: all)
	MPPE           ppp.MPPEPolicy
	EchoInterval   time.Duration
	Logger         *slog.Logger
	// OnIP receives each IP packet from the server; it must not retain pkt.
	OnIP func(pkt []byte)
	// Flush, if set, is called after each batch of GRE packets the Mux
	// read in which OnIP got at least one packet of this call, on the
	// Mux's goroutine like OnIP: a sink that queues what OnIP gave it
	// (tun.WriteQueue) writes it out then, one system call per batch.
	Flush func()
	// AbortAt makes Dial vanish at that point of the set-up, as a crashed
	// client does (see Abort); Dial then returns an error wrapping
	// ErrAborted. AbortNone (the zero value) dials normally.
	AbortAt Abort
	// AbortSilent: at AbortAt (other than AbortAfterSCCRQ) the client falls
	// silent instead of closing: no more GRE out or in, but the control
	// connection stays open until the server clears the call (Call-
	// Disconnect-Notify) or closes the connection, which it must do by its
	// own timers (login timeout, LCP restarts). Dial then closes the
	// connection and returns ErrAborted; a server that keeps the call
	// until ctx ends makes Dial fail with ErrSilentKept.
	AbortSilent bool
}

// Client is one established call.
type Client struct {
	m      *Mux
	cfg    Config
	ctrl   *pptp.Conn
	callID uint16
	link   *ppp.Link

	tunMu    sync.Mutex
	tunnel   *gre.Tunnel
	ackTimer *time.Timer
	sendBuf  []byte         // standalone acks, and frames without headroom
	sendMsg  [1]gre.Message // the one-packet batch of a send, reused
	// batchers counts the WriteIPBatchAt calls under way: while there are
	// any, write queues its packets (copies) in sendQ. Both under tunMu.
	batchers int
	sendQ    gre.Queue
	// inBatch: OnIP got a packet in the Mux's current receive batch (the
	// Mux's goroutine only; Mux.touched).
	inBatch bool

	up     chan ppp.UpInfo
	info   ppp.UpInfo
	down   chan struct{}
	reason atomic.Value // string

	nc        net.Conn      // the control connection's socket, closed at once by abort
	silent    atomic.Bool   // Config.AbortAt was reached: nothing more is sent or taken in
	abortCh   chan struct{} // closed by abort, once the socket is closed
	abortOnce sync.Once
	// silentCh is closed when an AbortSilent client falls silent, cleared
	// when the server clears the call.
	silentCh, cleared       chan struct{}
	silentOnce, clearedOnce sync.Once
}

// Dial places a call and returns once the PPP network phase is up (address
// assigned, MPPE negotiated as configured) or fails.
func (m *Mux) Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{m: m, cfg: cfg, up: make(chan ppp.UpInfo, 1), down: make(chan struct{}), sendBuf: make([]byte, gre.MaxHeaderLen+2048),
		abortCh: make(chan struct{}), silentCh: make(chan struct{}), cleared: make(chan struct{})}
	c.callID = m.register(c)
	if err := c.dialControl(ctx); err != nil {
		return c.fail(err)
	}
	if cfg.AbortAt == AbortAfterSCCRQ {
		c.abort()
		return c.aborted()
	}
	reply, err := c.ctrl.OutgoingCall(ctx, c.callID)
	if err != nil {
		return c.fail(fmt.Errorf("client: outgoing call: %w", err))
	}
	c.startLink(reply)
	return c.waitUp(ctx)
}

// dialControl opens the control connection with pptp.Dial and keeps its
// socket for abort.
func (c *Client) dialControl(ctx context.Context) error {
	ctrl, err := pptp.Dial(ctx, c.cfg.Server, pptp.Config{}, handler{c}, c.cfg.Logger)
	if err != nil {
		return fmt.Errorf("client: control connection: %w", err)
	}
	c.ctrl, c.nc = ctrl, ctrl.NetConn()
	return nil
}

// startLink sets up the call's GRE tunnel and PPP link from the server's
// Outgoing-Call-Reply and starts LCP.
func (c *Client) startLink(reply *pptp.OutgoingCallReply) {
	cfg := c.cfg
	c.tunMu.Lock()
	c.tunnel = gre.NewTunnel(gre.TunnelConfig{PeerCallID: reply.CallID, PeerWindow: reply.RecvWindow})
	c.link = ppp.New(ppp.Config{
		Role:         ppp.Client,
		Logger:       cfg.Logger.With("call", c.callID),
		Username:     cfg.User,
		Password:     cfg.Password,
		Auth:         cfg.Auth,
		MPPE:         cfg.MPPE,
		EchoInterval: cfg.EchoInterval,
		SendAt:       c.sendFrame,
		Headroom:     gre.MaxHeaderLen,
		InputInPlace: true, // OnIP's packet lies in the Mux's receive buffer
		OnUp:         func(i ppp.UpInfo) { c.up <- i },
		OnDown:       c.onDown,
		OnIP: func(pkt []byte) {
			if cfg.OnIP != nil {
				cfg.OnIP(pkt)
				c.m.touched(c)
			}
		},
	})
	c.tunMu.Unlock()
	c.link.Start()
}

// waitUp waits for the PPP network phase, an abort point, the link going
// down or ctx.
func (c *Client) waitUp(ctx context.Context) (*Client, error) {
	select {
	case c.info = <-c.up:
		if c.cfg.AbortAt != AbortNone {
			c.Close()
			return nil, fmt.Errorf("client: the link came up before its abort point %v", c.cfg.AbortAt)
		}
		return c, nil
	case <-c.abortCh:
		return c.aborted()
	case <-c.silentCh:
		// Silent: the server must end the call by itself.
		select {
		case <-c.cleared:
		case <-c.ctrl.Done():
		case <-ctx.Done():
			c.link.Hangup("silent call kept")
			return c.fail(fmt.Errorf("%w (at %v): %w", ErrSilentKept, c.cfg.AbortAt, ctx.Err()))
		}
		return c.aborted()
	case <-c.down:
		if c.silent.Load() {
			return c.aborted()
		}
		return c.fail(fmt.Errorf("client: link down: %s", c.Reason()))
	case <-ctx.Done():
		// Say where it stuck: the phase the link was in.
		phase := c.link.Phase()
		c.link.Close("dial cancelled")
		return c.fail(fmt.Errorf("client: PPP %s phase: %w", phase, ctx.Err()))
	}
}

// fail ends a Dial that did not succeed: the call ID is released and the
// control connection closed.
func (c *Client) fail(err error) (*Client, error) {
	c.m.unregister(c.callID)
	if c.ctrl != nil {
		c.ctrl.Close()
	}
	return nil, err
}

// aborted ends a Dial that reached its abort point (Config.AbortAt).
func (c *Client) aborted() (*Client, error) {
	if c.link != nil {
		c.link.Hangup("aborted")
	}
	return c.fail(fmt.Errorf("%w at %v", ErrAborted, c.cfg.AbortAt))
}

// Info is what the network phase negotiated: address, DNS, MPPE mode.
func (c *Client) Info() ppp.UpInfo { return c.info }

// Addr is our assigned address.
func (c *Client) Addr() netip.Addr { return c.info.Local }

// Done is closed when the link is down; Reason says why.
func (c *Client) Done() <-chan struct{} { return c.down }

func (c *Client) Reason() string { r, _ := c.reason.Load().(string); return r }

// WriteIP sends one IP packet through the tunnel; pkt is copied once and
// left as it was.
func (c *Client) WriteIP(pkt []byte) error { return c.link.WriteIP(pkt) }

// WriteIPAt sends the IP packet buf[off:] without copying it when off is at
// least Headroom: the PPP, MPPE and GRE headers go into buf[:off] and the
// packet is encrypted in place (buf[off:] is overwritten).
func (c *Client) WriteIPAt(buf []byte, off int) error { return c.link.WriteIPAt(buf, off) }

// Headroom is the room in front of a packet that lets WriteIPAt send it
// without a copy.
const Headroom = gre.MaxHeaderLen + ppp.DataHeadroom

// Close ends the link (LCP Terminate), clears the call and closes the control
// connection, as a well-behaved client does.
func (c *Client) Close() error {
	c.link.Close("client closed")
	select {
	case <-c.down:
	case <-time.After(10 * time.Second):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.ctrl.ClearCall(ctx, c.callID)
	if cerr := c.ctrl.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pptp.ErrClosed) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (c *Client) onDown(reason string) {
	c.reason.Store(reason)
	c.tunMu.Lock()
	if c.ackTimer != nil {
		c.ackTimer.Stop()
	}
	c.tunMu.Unlock()
	c.m.unregister(c.callID)
	close(c.down)
}
