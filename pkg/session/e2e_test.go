package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/gre/gretest"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
	"github.com/pptpbox/pptpbox/pkg/tun"
	"github.com/pptpbox/pptpbox/pkg/tun/tuntest"
)

// rig is a whole server in-process: loopback TCP for control, an in-memory
// GRE pipe, a fake TUN whose "kernel" routes pool addresses back into it.
type rig struct {
	srv    *Server
	addr   string
	mux    *client.Mux
	tun    *tuntest.Device
	cancel context.CancelFunc
	done   chan error
	// onOutbound, when set before traffic starts, sees every packet the
	// server writes to TUN for an address outside the pool.
	onOutbound func(p []byte)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("PPTPBOX_TEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testWriter logs through t until the test ends; goroutines that outlive it
// (a control connection winding down) must not write to t.
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(b, "\n")))
	}
	return len(b), nil
}

func newRig(t testing.TB, mutate func(*Config)) *rig {
	t.Helper()
	return newRigGRE(t, mutate, nil)
}

// newRigGRE is newRig with the clients' GRE connection wrapped by wrap.
func newRigGRE(t testing.TB, mutate func(*Config), wrap func(gre.Conn) gre.Conn) *rig {
	t.Helper()
	return newRigWrapped(t, mutate, rigWrap{client: wrap})
}

// rigWrap wraps the OS boundaries of a rig: the clients' and the server's
// GRE connections and the server's TUN device (nil: as they are).
type rigWrap struct {
	client, server func(gre.Conn) gre.Conn
	tun            func(tun.Device) tun.Device
	ln             func(net.Listener) net.Listener // the control listener
	// sharded, when set, makes the server's GRE sockets and TUN queues
	// from the (wrapped) pipe end and device: NewSharded instead of New.
	sharded func(gre.Conn, tun.Device) ([]gre.Conn, []tun.Device)
}

func newRigWrapped(t testing.TB, mutate func(*Config), w rigWrap) *rig {
	t.Helper()
	lo := netip.MustParseAddr("127.0.0.1")
	sg, cg := gretest.NewPipe(lo, lo)
	if w.client != nil {
		cg = w.client(cg)
	}
	if w.server != nil {
		sg = w.server(sg)
	}
	ranges, _ := ippool.ParseRanges("10.79.97.10-200")
	cfg := Config{
		Logger:  testLogger(t),
		Name:    "pptpbox",
		LocalIP: netip.MustParseAddr("10.79.97.1"),
		Pool:    ippool.New(ranges),
		DNS:     [2]netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("8.8.4.4")},
		Auth:    []ppp.AuthProto{ppp.AuthMSCHAPv2},
		Authenticator: aaa.NewLocal([]aaa.LocalUser{
			{Name: "alice", Password: "alice-pw"},
			{Name: "bob", Password: "bob-pw"},
			{Name: "carol", Password: "carol-pw", IP: netip.MustParseAddr("10.79.97.77")},
		}),
		MPPE:          ppp.MPPEPolicy{Required: true, Bits128: true},
		MRU:           1400,
		EchoInterval:  30 * time.Second,
		EchoFailure:   3,
		SingleSession: aaa.SingleReplace,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	dev := tuntest.New("pptp0")
	var sdev tun.Device = dev
	if w.tun != nil {
		sdev = w.tun(dev)
	}
	srv := New(cfg, sg, sdev)
	if w.sharded != nil {
		gs, ts := w.sharded(sg, sdev)
		srv = NewSharded(cfg, gs, ts)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var sln net.Listener = ln
	if w.ln != nil {
		sln = w.ln(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{srv: srv, addr: ln.Addr().String(), mux: client.NewMux(cg), tun: dev, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ctx, sln) }()
	// The fake kernel: what boxd writes to TUN is routed back into TUN when
	// the destination is in the pool (client to client traffic).
	go func() {
		for {
			var p []byte
			select {
			case p = <-dev.Outbound:
			case <-ctx.Done():
				return
			}
			dst := netip.AddrFrom4([4]byte(p[16:20]))
			if cfg.Pool.Contains(dst) || dst == netip.MustParseAddr("10.79.97.77") {
				select {
				case dev.Inbound <- p:
				case <-ctx.Done():
					return
				}
			} else if r.onOutbound != nil {
				r.onOutbound(p)
			}
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
	}
	r.mux.Close()
}

// dial places a call as user and returns once both ends are up: the
// client's link can be up a moment before the server's (the server may
// still be taking the client's last Configure-Ack), and a test that writes
// into the server's TUN at once would see its packet dropped.
func (r *rig) dial(t testing.TB, user, pw string, onIP func([]byte)) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := clientConfig(r, user, pw)
	cfg.OnIP = onIP
	c, err := r.mux.Dial(ctx, cfg)
	if err != nil {
		return c, err
	}
	for !r.serverUp(c.Addr()) {
		if ctx.Err() != nil {
			return c, fmt.Errorf("the server's side of %v did not come up: %w", c.Addr(), ctx.Err())
		}
		time.Sleep(time.Millisecond)
	}
	return c, nil
}

// serverUp says whether the server's session for address a is up: the
// rig's calls require MPPE, so the session has its MPPE mode exactly from
// the moment its link reports up.
func (r *rig) serverUp(a netip.Addr) bool {
	for _, in := range r.srv.Sessions() {
		if in.IP == a.String() && in.MPPE != "" {
			return true
		}
	}
	return false
}

// clientConfig is a call to the rig's server as user, MPPE-128 required.
func clientConfig(r *rig, user, pw string) client.Config {
	return client.Config{
		Server:     r.addr,
		ServerAddr: netip.MustParseAddr("127.0.0.1"),
		User:       user,
		Password:   pw,
		MPPE:       ppp.MPPEPolicy{Required: true, Bits128: true},
		Logger:     r.srv.log.With("side", "client", "user", user),
	}
}

// udpPacket builds an IPv4/UDP packet (checksums are not checked by anything here).
func udpPacket(src, dst netip.Addr, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = 17
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[20:], 40000)
	binary.BigEndian.PutUint16(p[22:], 9)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	binary.BigEndian.PutUint16(p[10:], ipv4frag.Checksum(p[:20]))
	return p
}

func TestTwoSessionsExchangePackets(t *testing.T) {
	r := newRig(t, nil)
	// Big enough for every packet: a blocked OnIP would stall the client mux.
	gotB := make(chan []byte, 1000)
	gotA := make(chan []byte, 1000)
	a, err := r.dial(t, "alice", "alice-pw", func(p []byte) { gotA <- append([]byte(nil), p...) })
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dial(t, "bob", "bob-pw", func(p []byte) { gotB <- append([]byte(nil), p...) })
	if err != nil {
		t.Fatal(err)
	}
	if a.Addr() == b.Addr() || !r.srv.cfg.Pool.Contains(a.Addr()) || !r.srv.cfg.Pool.Contains(b.Addr()) {
		t.Fatalf("addresses %s %s", a.Addr(), b.Addr())
	}
	if a.Info().MPPE != "MPPE 128-bit stateless" {
		t.Fatalf("mppe = %q", a.Info().MPPE)
	}
	if a.Info().DNS[0].String() != "8.8.8.8" || a.Info().DNS[1].String() != "8.8.4.4" {
		t.Fatalf("dns = %v", a.Info().DNS)
	}
	const n = 200
	for i := 0; i < n; i++ {
		payload := bytes.Repeat([]byte{byte(i)}, 1000)
		if err := a.WriteIP(udpPacket(a.Addr(), b.Addr(), payload)); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteIP(udpPacket(b.Addr(), a.Addr(), payload[:100])); err != nil {
			t.Fatal(err)
		}
	}
	recv := func(ch chan []byte, want int, from netip.Addr) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case p := <-ch:
				if len(p) != 28+want || netip.AddrFrom4([4]byte(p[12:16])) != from || p[28] != byte(i) {
					t.Fatalf("packet %d: len %d from %v first %d", i, len(p), p[12:16], p[28])
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("received %d of %d packets", i, n)
			}
		}
	}
	recv(gotB, 1000, a.Addr())
	recv(gotA, 100, b.Addr())
	infos := r.srv.Sessions()
	if len(infos) != 2 {
		t.Fatalf("sessions %+v", infos)
	}
	for _, in := range infos {
		if in.PktsIn != n || in.PktsOut != n {
			t.Errorf("counters %+v", in)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 1 })
	if r.srv.cfg.Pool.InUse() != 1 {
		t.Fatalf("pool in use %d after a session ended", r.srv.cfg.Pool.InUse())
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	r := newRig(t, nil)
	_, err := r.dial(t, "alice", "wrong", nil)
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	if r.srv.Stats().AuthFailures != 1 {
		t.Fatalf("stats %+v", r.srv.Stats())
	}
}

func TestSingleSessionReplaceAndDeny(t *testing.T) {
	r := newRig(t, nil)
	first, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Addr().String() != "10.79.97.77" {
		t.Fatalf("fixed address: got %s", first.Addr())
	}
	second, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("first session not replaced")
	}
	if second.Addr().String() != "10.79.97.77" {
		t.Fatalf("second got %s", second.Addr())
	}

	r2 := newRig(t, func(c *Config) { c.SingleSession = aaa.SingleDeny })
	if _, err := r2.dial(t, "alice", "alice-pw", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.dial(t, "alice", "alice-pw", nil); err == nil {
		t.Fatal("second login allowed with single_session = deny")
	}
}

func TestShutdownEndsSessions(t *testing.T) {
	r := newRig(t, nil)
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.cancel()
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client not told of shutdown")
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	r.done <- nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met in 10s")
}

// A client that places a call and clears it before sending any GRE must not
// leave a session (or a pending link start) behind.
func TestCallClearedBeforeLinkStart(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pptp.Dial(ctx, r.addr, pptp.Config{}, nopHandler{}, r.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.OutgoingCall(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if len(r.srv.Sessions()) != 1 {
		t.Fatalf("sessions after the call: %d", len(r.srv.Sessions()))
	}
	if err := c.ClearCall(ctx, 7); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	time.Sleep(2 * startDelay) // the start timer must not fire into a dead session
	if st := r.srv.Stats(); st.Sessions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

type nopHandler struct{}

func (nopHandler) OutgoingCall(*pptp.Conn, uint16, *pptp.OutgoingCallRequest) (uint16, error) {
	return 0, errors.New("no")
}
func (nopHandler) SetLinkInfo(*pptp.Conn, uint16, uint32, uint32) {}
func (nopHandler) CallCleared(*pptp.Conn, uint16)                 {}

// TestPeerInputFiltered: what a peer sends must be an IPv4 packet from the
// address IPCP gave it. A spoofed source and an IPv6 packet framed as IPv4
// (a client whose TUN leaks router solicitations) are dropped, each under
// its own counter, and the next good packet still arrives.
func TestPeerInputFiltered(t *testing.T) {
	r := newRig(t, nil)
	gotB := make(chan []byte, 10)
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dial(t, "bob", "bob-pw", func(p []byte) { gotB <- append([]byte(nil), p...) })
	if err != nil {
		t.Fatal(err)
	}
	spoofed := udpPacket(netip.MustParseAddr("192.168.1.50"), b.Addr(), []byte("spoof"))
	ipv6 := make([]byte, 48)
	ipv6[0] = 0x60
	good := udpPacket(a.Addr(), b.Addr(), []byte("good"))
	for _, p := range [][]byte{spoofed, ipv6, good} {
		if err := a.WriteIP(p); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case p := <-gotB:
		if !bytes.Equal(p, good) {
			t.Fatalf("bob received %x, want the good packet", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the good packet did not arrive")
	}
	st := r.srv.Stats()
	if st.PeerWrongSource != 1 || st.TUNMalformed != 1 {
		t.Errorf("peer_wrong_source %d tun_malformed %d, want 1 and 1", st.PeerWrongSource, st.TUNMalformed)
	}
}
