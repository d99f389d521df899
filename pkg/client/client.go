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

// Mux shares one GRE connection among clients.
type Mux struct {
	conn gre.Conn
	mu   sync.RWMutex
	byID map[uint16]*Client
	next uint16
	done chan struct{}
	// Dropped counts GRE packets for no known call or malformed.
	Dropped atomic.Uint64
}

// NewMux starts demultiplexing conn; Close stops it and closes conn.
func NewMux(conn gre.Conn) *Mux {
	m := &Mux{conn: conn, byID: map[uint16]*Client{}, next: uint16(time.Now().UnixNano()), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *Mux) Close() error {
	err := m.conn.Close()
	<-m.done
	return err
}

func (m *Mux) run() {
	defer close(m.done)
	msgs := make([]gre.Message, 16)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 65536)
	}
	for {
		n, err := m.conn.ReadBatch(msgs)
		if err != nil {
			return
		}
		for i := range msgs[:n] {
			h, payload, err := gre.Parse(msgs[i].Buf[:msgs[i].N])
			if err != nil {
				m.Dropped.Add(1)
				continue
			}
			m.mu.RLock()
			c := m.byID[h.CallID]
			m.mu.RUnlock()
			if c == nil {
				m.Dropped.Add(1)
				continue
			}
			c.received(h, payload)
		}
	}
}

func (m *Mux) register(c *Client) uint16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		m.next++
		if _, used := m.byID[m.next]; m.next != 0 && !used {
			m.byID[m.next] = c
			return m.next
		}
	}
}

func (m *Mux) unregister(id uint16) {
	m.mu.Lock()
	delete(m.byID, id)
	m.mu.Unlock()
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

// midAuthLinger: how long an AbortMidAuth client stays silent between its
// authentication response and closing its socket.
const midAuthLinger = 50 * time.Millisecond

// ackDelay: how long a received packet waits for a data packet to carry its ack.
const ackDelay = 20 * time.Millisecond

// Dial places a call and returns once the PPP network phase is up (address
// assigned, MPPE negotiated as configured) or fails.
func (m *Mux) Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{m: m, cfg: cfg, up: make(chan ppp.UpInfo, 1), down: make(chan struct{}), sendBuf: make([]byte, gre.MaxHeaderLen+2048),
		abortCh: make(chan struct{}), silentCh: make(chan struct{}), cleared: make(chan struct{})}
	c.callID = m.register(c)
	fail := func(err error) (*Client, error) {
		m.unregister(c.callID)
		if c.ctrl != nil {
			c.ctrl.Close()
		} else if c.nc != nil {
			c.nc.Close()
		}
		return nil, err
	}
	aborted := func() (*Client, error) {
		if c.link != nil {
			c.link.Hangup("aborted")
		}
		return fail(fmt.Errorf("%w at %v", ErrAborted, cfg.AbortAt))
	}
	// pptp.Dial's steps, keeping the socket for abort.
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cfg.Server)
	if err != nil {
		return fail(fmt.Errorf("client: control connection: pptp: dial %s: %w", cfg.Server, err))
	}
	c.nc = nc
	ctrl := pptp.NewClientConn(nc, pptp.Config{}, handler{c}, cfg.Logger)
	c.ctrl = ctrl
	go ctrl.Serve(context.Background())
	if err := ctrl.Start(ctx); err != nil {
		return fail(fmt.Errorf("client: control connection: %w", err))
	}
	if cfg.AbortAt == AbortAfterSCCRQ {
		c.abort()
		return aborted()
	}
	reply, err := ctrl.OutgoingCall(ctx, c.callID)
	if err != nil {
		return fail(fmt.Errorf("client: outgoing call: %w", err))
	}
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
			}
		},
	})
	c.tunMu.Unlock()
	c.link.Start()
	select {
	case c.info = <-c.up:
		if cfg.AbortAt != AbortNone {
			c.Close()
			return nil, fmt.Errorf("client: the link came up before its abort point %v", cfg.AbortAt)
		}
		return c, nil
	case <-c.abortCh:
		return aborted()
	case <-c.silentCh:
		// Silent: the server must end the call by itself.
		select {
		case <-c.cleared:
		case <-ctrl.Done():
		case <-ctx.Done():
			c.link.Hangup("silent call kept")
			return fail(fmt.Errorf("%w (at %v): %w", ErrSilentKept, cfg.AbortAt, ctx.Err()))
		}
		return aborted()
	case <-c.down:
		if c.silent.Load() {
			return aborted()
		}
		return fail(fmt.Errorf("client: link down: %s", c.Reason()))
	case <-ctx.Done():
		// Say where it stuck: the phase the link was in.
		phase := c.link.Phase()
		c.link.Close("dial cancelled")
		return fail(fmt.Errorf("client: PPP %s phase: %w", phase, ctx.Err()))
	}
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

// abort is the client vanishing (Config.AbortAt): the control socket is
// closed at once, with nothing said on it, and no more GRE goes out.
func (c *Client) abort() {
	c.abortOnce.Do(func() {
		c.silent.Store(true)
		c.nc.Close()
		close(c.abortCh)
	})
}

// goSilent is an AbortSilent client reaching its point: nothing more goes
// out or comes in (silent is set), and Dial waits for the server.
func (c *Client) goSilent() {
	c.silentOnce.Do(func() { close(c.silentCh) })
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

// sendFrame sends the PPP frame buf[off:] in GRE, writing the header into
// the headroom the link leaves (a frame without it is copied).
func (c *Client) sendFrame(buf []byte, off int) {
	c.tunMu.Lock()
	defer c.tunMu.Unlock()
	if c.silent.Load() {
		return
	}
	if c.cfg.AbortAt != AbortNone && abortOnSend(c.cfg.AbortAt, buf[off:]) {
		// This frame goes out, then the client falls silent, and vanishes:
		// at once, or mid-auth a moment later, so that the server has
		// passed the response on (to RADIUS, say) when the call goes.
		c.silent.Store(true)
		switch {
		case c.cfg.AbortSilent:
			defer c.goSilent()
		case c.cfg.AbortAt == AbortMidAuth:
			defer time.AfterFunc(midAuthLinger, c.abort)
		default:
			defer c.abort()
		}
	}
	n := len(buf) - off
	if n > len(c.sendBuf)-gre.MaxHeaderLen {
		return
	}
	if off < gre.MaxHeaderLen {
		copy(c.sendBuf[gre.MaxHeaderLen:], buf[off:])
		buf, off = c.sendBuf[:gre.MaxHeaderLen+n], gre.MaxHeaderLen
	}
	pkt, err := gre.Encapsulate(buf, off, c.tunnel.NextHeader(n))
	if err == nil {
		c.write(pkt)
	}
}

// write sends one GRE packet to the server; called with tunMu held, which
// keeps packets in sequence-number order.
func (c *Client) write(pkt []byte) {
	c.sendMsg[0] = gre.Message{Buf: pkt, N: len(pkt), Addr: c.cfg.ServerAddr}
	c.m.conn.WriteBatch(c.sendMsg[:])
	c.sendMsg[0].Buf = nil
}

func (c *Client) received(h gre.Header, payload []byte) {
	c.tunMu.Lock()
	if c.tunnel == nil { // reply not processed yet
		c.tunMu.Unlock()
		return
	}
	deliver := c.tunnel.Receive(h)
	if deliver && len(payload) > 0 && c.ackTimer == nil {
		c.ackTimer = time.AfterFunc(ackDelay, c.sendAck)
	}
	c.tunMu.Unlock()
	if deliver && len(payload) > 0 && !c.silent.Load() {
		if c.cfg.AbortAt != AbortNone && abortOnReceive(c.cfg.AbortAt, payload) {
			c.silent.Store(true)
			if c.cfg.AbortSilent {
				c.goSilent()
			} else {
				c.abort()
			}
			return
		}
		c.link.Input(payload)
	}
}

func (c *Client) sendAck() {
	c.tunMu.Lock()
	defer c.tunMu.Unlock()
	c.ackTimer = nil
	if c.silent.Load() {
		return
	}
	if ack, ok := c.tunnel.AckDue(time.Now()); ok {
		pkt := gre.AppendHeader(c.sendBuf[:0], c.tunnel.AckHeader(ack))
		c.write(pkt)
	}
}

// handler receives the control connection's call events.
type handler struct{ c *Client }

func (h handler) OutgoingCall(*pptp.Conn, uint16, *pptp.OutgoingCallRequest) (uint16, error) {
	return 0, errors.New("client: the server cannot place calls")
}

func (h handler) SetLinkInfo(*pptp.Conn, uint16, uint32, uint32) {}

func (h handler) CallCleared(_ *pptp.Conn, id uint16) {
	if id != h.c.callID {
		return
	}
	h.c.clearedOnce.Do(func() { close(h.c.cleared) })
	// Dial sets link under tunMu; a Call-Disconnect-Notify may race it.
	h.c.tunMu.Lock()
	link := h.c.link
	h.c.tunMu.Unlock()
	if link != nil {
		link.Hangup("server disconnected the call")
	}
}
