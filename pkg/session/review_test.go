package session

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// authFunc adapts a function to ppp.Authenticator.
type authFunc func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error)

func (f authFunc) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	return f(ctx, req)
}

var testUsers = aaa.NewLocal([]aaa.LocalUser{
	{Name: "alice", Password: "alice-pw"},
	{Name: "carol", Password: "carol-pw"},
})

// slowAuth is a RADIUS-like authenticator that blocks until released and
// ignores its context (as a server stuck in a round trip would), then
// accepts the credentials the local table accepts.
type slowAuth struct {
	entered chan struct{} // one value per call, when it starts blocking
	release chan struct{} // closed to let every call finish
}

func newSlowAuth() *slowAuth {
	return &slowAuth{entered: make(chan struct{}, 8), release: make(chan struct{})}
}

func (a *slowAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	a.entered <- struct{}{}
	<-a.release
	return testUsers.Authenticate(context.Background(), req)
}

// waitGoroutines waits until the goroutine count is back to at most base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addrState reports what the server holds for addresses and users.
func (s *Server) addrState() (byIP, byUser, calls int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byIP), len(s.byUser), len(s.calls)
}

// A session that ends while its authenticator is still blocking must not
// take an address when the verdict finally comes: nothing would ever give
// it back, and with single_session = deny the user would be locked out.
func TestSessionEndsDuringSlowAuth(t *testing.T) {
	auth := newSlowAuth()
	r := newRig(t, func(c *Config) {
		c.Authenticator = auth
		c.SingleSession = aaa.SingleDeny
	})
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan error, 1)
	go func() {
		_, err := r.mux.Dial(ctx, clientConfig(r, "alice", "alice-pw"))
		dialed <- err
	}()
	<-auth.entered
	cancel() // the client gives up: LCP Terminate-Request, Call-Clear-Request
	if err := <-dialed; err == nil {
		t.Fatal("dial succeeded")
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	base := runtime.NumGoroutine()
	close(auth.release)
	// The authentication goroutine runs Config.Network and ends.
	waitGoroutines(t, base-1)
	if ip, users, calls := r.srv.addrState(); ip != 0 || users != 0 || calls != 0 {
		t.Fatalf("after the late verdict: %d addresses, %d users, %d calls held", ip, users, calls)
	}
	if n := r.srv.cfg.Pool.InUse(); n != 0 {
		t.Fatalf("pool: %d addresses in use", n)
	}
	// The user can log in again.
	r.srv.cfg.Authenticator = testUsers
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// Shutdown must not wait for an authenticator that does not return, and
// once it has returned nothing of the server may remain.
func TestShutdownDuringSlowAuth(t *testing.T) {
	base := runtime.NumGoroutine()
	auth := newSlowAuth()
	r := newRig(t, func(c *Config) { c.Authenticator = auth })
	go r.mux.Dial(context.Background(), clientConfig(r, "alice", "alice-pw"))
	<-auth.entered
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(shutdownTimeout + 3*time.Second):
		t.Fatal("Serve did not return while the authenticator blocked")
	}
	r.done <- nil
	t.Logf("shutdown took %v", time.Since(start).Round(time.Millisecond))
	close(auth.release)
	r.mux.Close()
	waitGoroutines(t, base)
	if n := r.srv.cfg.Pool.InUse(); n != 0 {
		t.Fatalf("pool: %d addresses in use after shutdown", n)
	}
}

// AuthResult.SessionTimeout (RADIUS Session-Timeout) ends the session when
// it expires, counted from the network phase coming up.
func TestSessionTimeout(t *testing.T) {
	const limit = 700 * time.Millisecond
	r := newRig(t, func(c *Config) {
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := testUsers.Authenticate(ctx, req)
			if err == nil && res.OK && req.User == "alice" {
				res.SessionTimeout = limit
			}
			return res, err
		})
	})
	// Taken before the dial: the server starts the timer in onUp, which
	// can be a moment before dial returns (it polls for the server's side).
	up := time.Now()
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	carol, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Close()
	select {
	case <-a.Done():
	case <-time.After(limit + 10*time.Second):
		t.Fatal("session outlived its session timeout")
	}
	if d := time.Since(up); d < limit {
		t.Fatalf("session ended after %v, before its timeout %v", d, limit)
	}
	if !strings.Contains(a.Reason(), "session timeout") {
		t.Fatalf("client's reason %q", a.Reason())
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 1 })
	if r.srv.cfg.Pool.InUse() != 1 {
		t.Fatalf("pool in use %d", r.srv.cfg.Pool.InUse())
	}
	// A session without a timeout is left alone.
	select {
	case <-carol.Done():
		t.Fatalf("session without a timeout ended: %s", carol.Reason())
	default:
	}
}

// blackhole drops the GRE packets of chosen calls on a client's GRE
// connection, both ways: a peer that vanished without a word.
type blackhole struct {
	gre.Conn
	mu       sync.Mutex
	in, out  map[uint16]bool // keys of packets to the clients, from them
	droppedN atomic.Uint64
}

func (b *blackhole) cut(info Info) {
	b.mu.Lock()
	b.in[info.PeerCall], b.out[info.CallID] = true, true
	b.mu.Unlock()
}

func (b *blackhole) drop(keys map[uint16]bool, pkt []byte) bool {
	h, _, err := gre.Parse(pkt)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && keys[h.CallID] {
		b.droppedN.Add(1)
		return true
	}
	return false
}

func (b *blackhole) ReadBatch(msgs []gre.Message) (int, error) {
	n, err := b.Conn.ReadBatch(msgs)
	for i := range msgs[:n] {
		if b.drop(b.in, msgs[i].Buf[:msgs[i].N]) {
			msgs[i].N = 0
		}
	}
	return n, err
}

func (b *blackhole) WriteBatch(msgs []gre.Message) (int, error) {
	keep := make([]gre.Message, 0, len(msgs))
	for _, m := range msgs {
		if !b.drop(b.out, m.Buf[:m.N]) {
			keep = append(keep, m)
		}
	}
	if _, err := b.Conn.WriteBatch(keep); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// single_session = replace with a fixed address whose old peer vanished
// (the usual reason to log in again): the old link's LCP Terminate-Request
// goes unanswered for Max-Terminate restart periods, yet the new login
// gets the address, and the old session ending later does not take it
// (or its proxy-ARP entry) away from the new one.
func TestReplaceFixedAddressOfVanishedPeer(t *testing.T) {
	fixed := netip.MustParseAddr("10.79.97.77")
	bh := &blackhole{in: map[uint16]bool{}, out: map[uint16]bool{}}
	var mu sync.Mutex
	var events []bool // OnAddr for the fixed address, in order
	r := newRigGRE(t, func(c *Config) {
		c.OnAddr = func(a netip.Addr, up bool) {
			if a == fixed {
				mu.Lock()
				events = append(events, up)
				mu.Unlock()
			}
		}
	}, func(c gre.Conn) gre.Conn { bh.Conn = c; return bh })
	if _, err := r.dial(t, "carol", "carol-pw", nil); err != nil {
		t.Fatal(err)
	}
	infos := r.srv.Sessions()
	if len(infos) != 1 {
		t.Fatalf("sessions %+v", infos)
	}
	bh.cut(infos[0])
	got := make(chan []byte, 10)
	second, err := r.dial(t, "carol", "carol-pw", func(p []byte) { got <- append([]byte(nil), p...) })
	if err != nil {
		t.Fatalf("new login refused while the vanished session winds down: %v", err)
	}
	defer second.Close()
	if second.Addr() != fixed {
		t.Fatalf("second got %s", second.Addr())
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 1 })
	// The address is the new session's: traffic to it arrives, and the
	// pool counts it once.
	alice, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	if err := alice.WriteIP(udpPacket(alice.Addr(), fixed, []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p[28:]) != "hello" {
			t.Fatalf("got %q", p[28:])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("packet to the fixed address not delivered to the new session")
	}
	if n := r.srv.cfg.Pool.InUse(); n != 2 {
		t.Fatalf("pool in use %d, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) == 0 || !events[len(events)-1] {
		t.Fatalf("OnAddr events for %s: %v (the last must be up)", fixed, events)
	}
}

// Inbound checks: a GRE packet with a live call's key from another address
// is dropped before the link sees it, and a client cannot send from an
// address other than its own into the network.
func TestInboundSpoofing(t *testing.T) {
	r := newRig(t, nil)
	var mu sync.Mutex
	var outbound [][]byte
	r.onOutbound = func(p []byte) {
		mu.Lock()
		outbound = append(outbound, append([]byte(nil), p...))
		mu.Unlock()
	}
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	info := r.srv.Sessions()[0]

	// Another host sends with alice's call ID (an LCP Terminate-Request
	// would end her session if it got through).
	frame := ppp.AppendFrame(nil, ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeTermReq, ID: 9}.Append(nil), false, false)
	pkt := gre.AppendHeader(nil, gre.Header{CallID: info.CallID, Seq: 1 << 30, HasSeq: true, PayloadLen: uint16(len(frame))})
	before := r.srv.Stats().GREWrongPeer
	r.srv.handleGRE(append(pkt, frame...), netip.MustParseAddr("192.0.2.66"))
	if got := r.srv.Stats().GREWrongPeer; got != before+1 {
		t.Fatalf("gre_wrong_peer %d, want %d", got, before+1)
	}

	dst := netip.MustParseAddr("192.0.2.1")
	spoofed := udpPacket(netip.MustParseAddr("10.79.97.250"), dst, []byte("spoofed"))
	own := udpPacket(a.Addr(), dst, []byte("own"))
	for _, p := range [][]byte{spoofed, own} {
		if err := a.WriteIP(p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(outbound) > 0 })
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(outbound) != 1 || string(outbound[0][28:]) != "own" {
		t.Fatalf("TUN got %d packets, first %q; want only the one from the client's own address", len(outbound), outbound[0][28:])
	}
	select {
	case <-a.Done():
		t.Fatalf("session ended: %s", a.Reason())
	default:
	}
}

// TestIdleTimeout: a session that moves no data for its Idle-Timeout ends
// with reason "idle timeout"; one that keeps sending does not.
func TestIdleTimeout(t *testing.T) {
	const idle = 800 * time.Millisecond
	r := newRig(t, func(c *Config) {
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := testUsers.Authenticate(ctx, req)
			if err == nil && res.OK {
				res.IdleTimeout = idle
			}
			return res, err
		})
	})
	// The server's idle clock starts when its side of the link is up, a
	// moment before Dial returns: time from before the dial.
	up := time.Now()
	quiet, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(idle / 5):
				busy.WriteIP(udpPacket(busy.Addr(), netip.MustParseAddr("192.0.2.1"), []byte("keepalive")))
			}
		}
	}()
	select {
	case <-quiet.Done():
	case <-time.After(idle + 10*time.Second):
		t.Fatal("idle session not ended")
	}
	if d := time.Since(up); d < idle {
		t.Fatalf("ended after %v, before the idle timeout %v", d, idle)
	}
	if !strings.Contains(quiet.Reason(), "idle timeout") {
		t.Fatalf("reason %q", quiet.Reason())
	}
	time.Sleep(2 * idle)
	select {
	case <-busy.Done():
		t.Fatalf("a session with traffic ended: %s", busy.Reason())
	default:
	}
}
