package session

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// flakyListener fails its first n Accepts with err, as accept4 does when
// the process is out of descriptors.
type flakyListener struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, l.err
	}
	return l.Listener.Accept()
}

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// dialFrom opens a TCP connection to addr from the loopback address src
// (all of 127/8 is local on Linux: each is another "source").
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	nc, err := tryDialFrom(t, src, addr)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func tryDialFrom(t *testing.T, src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp4", addr)
	if err == nil {
		t.Cleanup(func() { nc.Close() })
	}
	return nc, err
}

// refusedFrom reports whether a connection from src is closed by the
// server at once: reset while connect completes (loopback is that fast),
// or EOF/RST on the first read rather than silence for 2 s.
func refusedFrom(t *testing.T, src, addr string) bool {
	nc, err := tryDialFrom(t, src, addr)
	if err != nil {
		return errors.Is(err, syscall.ECONNRESET)
	}
	return closedByServer(nc)
}

// pptpFrom is a client control connection from src, started.
func pptpFrom(t *testing.T, r *rig, src string) *pptp.Conn {
	t.Helper()
	c := pptp.NewClientConn(dialFrom(t, src, r.addr), pptp.Config{}, nopHandler{}, r.srv.log)
	go c.Serve(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed nc (EOF or RST) rather
// than keeping it open for 2 s.
func closedByServer(nc net.Conn) bool {
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := nc.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestAcceptRetriesTemporaryErrors: EMFILE, ENFILE, ENOBUFS, ENOMEM and
// ECONNABORTED from accept are counted and retried after a backoff; a
// login after them works and Serve goes on. Before issue 14 the first
// EMFILE ended Serve, and boxd with it.
func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		t.Run(errno.Error(), func(t *testing.T) {
			var fl *flakyListener
			r := newRigWrapped(t, nil, rigWrap{ln: func(ln net.Listener) net.Listener {
				fl = &flakyListener{Listener: ln, err: acceptErr(errno)}
				fl.n.Store(6) // 5+10+20+40+80+160 ms of backoff
				return fl
			}})
			c, err := r.dial(t, "alice", "alice-pw", nil)
			if err != nil {
				t.Fatalf("login after %v: %v", errno, err)
			}
			defer c.Close()
			if n := r.srv.Stats().Limits.AcceptErrors; n != 6 {
				t.Errorf("accept_errors = %d, want 6", n)
			}
			select {
			case err := <-r.done:
				t.Fatalf("Serve returned: %v", err)
			default:
			}
		})
	}
}

// TestAcceptPermanentErrorEndsServe: an error that will not go away (not
// one of the temporary ones) still ends Serve, so the init restarts boxd.
func TestAcceptPermanentErrorEndsServe(t *testing.T) {
	r := newRigWrapped(t, nil, rigWrap{ln: func(ln net.Listener) net.Listener {
		fl := &flakyListener{Listener: ln, err: acceptErr(syscall.EBADF)}
		fl.n.Store(1)
		return fl
	}})
	select {
	case err := <-r.done:
		if !errors.Is(err, syscall.EBADF) {
			t.Fatalf("Serve returned %v, want EBADF", err)
		}
		r.done <- err // for the rig's stop
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestAcceptBackoffSequence(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for range 10 {
		d = min(max(2*d, acceptBackoffMin), acceptBackoffMax)
		got = append(got, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff %v, want %v ms", got, want)
		}
	}
}

// TestConnCapPerSource: the third idle connection from one address is
// closed at once and counted; other addresses, and a login, still get in;
// a freed slot is taken again.
func TestConnCapPerSource(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxConns, c.MaxConnsPerSource = 10, 2 })
	a1 := dialFrom(t, "127.0.0.2", r.addr)
	dialFrom(t, "127.0.0.2", r.addr)
	waitFor(t, func() bool { return r.srv.Stats().Limits.ConnsOpen == 2 })
	if !refusedFrom(t, "127.0.0.2", r.addr) {
		t.Fatal("third connection from one source kept open")
	}
	if l := r.srv.Stats().Limits; l.ConnsRefusedPerSource != 1 || l.ConnsRefusedGlobal != 0 || l.ConnsOpen != 2 {
		t.Fatalf("limits %+v", l)
	}
	c, err := r.dial(t, "alice", "alice-pw", nil) // from 127.0.0.1
	if err != nil {
		t.Fatalf("login from another source: %v", err)
	}
	c.Close()
	a1.Close()
	waitFor(t, func() bool { return r.srv.Stats().Limits.ConnsOpen == 1 })
	dialFrom(t, "127.0.0.2", r.addr)
	waitFor(t, func() bool { return r.srv.Stats().Limits.ConnsOpen == 2 })
	if n := r.srv.Stats().Limits.ConnsRefusedPerSource; n != 1 {
		t.Fatalf("refused %d after a slot was freed", n)
	}
}

// TestConnCapGlobal: max_connections counts every source.
func TestConnCapGlobal(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxConns, c.MaxConnsPerSource = 3, 2 })
	dialFrom(t, "127.0.0.2", r.addr)
	dialFrom(t, "127.0.0.3", r.addr)
	dialFrom(t, "127.0.0.4", r.addr)
	waitFor(t, func() bool { return r.srv.Stats().Limits.ConnsOpen == 3 })
	if !refusedFrom(t, "127.0.0.5", r.addr) {
		t.Fatal("connection over max_connections kept open")
	}
	if l := r.srv.Stats().Limits; l.ConnsRefusedGlobal != 1 || l.ConnsRefusedPerSource != 0 || l.MaxConns != 3 {
		t.Fatalf("limits %+v", l)
	}
}

// TestStartTimeoutClosesIdle: a connection that never sends Start-Control-
// Connection-Request, or stops in the middle of it, is closed after the
// server's StartTimeout and its slot is freed.
func TestStartTimeoutClosesIdle(t *testing.T) {
	r := newRig(t, func(c *Config) { c.StartTimeout = 300 * time.Millisecond; c.MaxConnsPerSource = 2 })
	idle := dialFrom(t, "127.0.0.2", r.addr)
	half := dialFrom(t, "127.0.0.2", r.addr)
	half.Write([]byte{0x00, 0x9c, 0x00, 0x01, 0x1a, 0x2b}) // 6 bytes of a 156-byte SCCRQ
	waitFor(t, func() bool { return r.srv.Stats().Control.StartTimeouts == 2 })
	for _, nc := range []net.Conn{idle, half} {
		if !closedByServer(nc) {
			t.Fatal("connection left open after the start timeout")
		}
	}
	waitFor(t, func() bool { return r.srv.Stats().Limits.ConnsOpen == 0 })
}

// TestCallsPerConnection: a second Outgoing-Call-Request on one control
// connection is answered Do-Not-Accept (RFC 2637 §2.8) and counted.
func TestCallsPerConnection(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxCallsPerConn = 1 })
	c := pptpFrom(t, r, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rep, err := c.OutgoingCall(ctx, 1); err != nil {
		t.Fatalf("first call: %+v %v", rep, err)
	}
	rep, err := c.OutgoingCall(ctx, 2)
	if err == nil || rep == nil || rep.Result != pptp.OutgoingDoNotAccept {
		t.Fatalf("second call: %+v %v", rep, err)
	}
	if n := r.srv.Stats().Limits.CallsRefusedPerConn; n != 1 {
		t.Fatalf("calls_refused_per_conn = %d", n)
	}
	if n := len(r.srv.Sessions()); n != 1 {
		t.Fatalf("%d sessions", n)
	}
}

// TestUnauthenticatedBudgetAndLoginTimeout is issue 14 item 2: one source
// places calls and never logs in. Beyond MaxUnauthPerSource its calls get
// General-Error/No-Resource, while a real user from another address logs
// in; after LoginTimeout the silent calls are ended and counted (the real
// session stays), and the budget is free again.
func TestUnauthenticatedBudgetAndLoginTimeout(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.MaxUnauthPerSource, c.MaxSessions, c.LoginTimeout = 2, 3, time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	atk := pptpFrom(t, r, "127.0.0.2")
	for id := uint16(1); id <= 2; id++ {
		if rep, err := atk.OutgoingCall(ctx, id); err != nil {
			t.Fatalf("call %d: %+v %v", id, rep, err)
		}
	}
	for id := uint16(3); id <= 5; id++ {
		rep, err := atk.OutgoingCall(ctx, id)
		if err == nil || rep == nil || rep.Result != pptp.OutgoingGeneralError || rep.Error != pptp.ErrorNoResource {
			t.Fatalf("call %d over the budget: %+v %v", id, rep, err)
		}
	}
	if n := r.srv.Stats().Limits.CallsRefusedUnauth; n != 3 {
		t.Fatalf("calls_refused_unauth = %d, want 3", n)
	}
	// max_sessions is 3: the two silent calls leave a slot for alice.
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatalf("real login during the flood: %v", err)
	}
	defer c.Close()
	waitFor(t, func() bool { return r.srv.Stats().Limits.LoginTimeouts == 2 })
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 1 })
	if s := r.srv.Sessions(); s[0].User != "alice" {
		t.Fatalf("left: %+v", s)
	}
	if rep, err := atk.OutgoingCall(ctx, 9); err != nil {
		t.Fatalf("call after the timeouts freed the budget: %+v %v", rep, err)
	}
}

func TestSourceKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::",
		"2001:db8:1:3::1":      "2001:db8:1:3::",
	} {
		if got := sourceKey(netip.MustParseAddr(in)); got.String() != want {
			t.Errorf("sourceKey(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestUnauthenticatedBudgetFollowsLogins: a call leaves the per-source
// budget of calls not logged in when its link comes up, and when it ends,
// so the count stays right as sessions come and go. With a budget of one,
// a second user logs in from the address of a first one who is up; after
// both hang up nothing is counted, and the budget is exactly one again.
func TestUnauthenticatedBudgetFollowsLogins(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxUnauthPerSource = 1 })
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	b, err := r.dial(t, "bob", "bob-pw", nil)
	if err != nil {
		t.Fatalf("bob from alice's address while alice is up: %v", err)
	}
	a.Close()
	b.Close()
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	r.srv.mu.RLock()
	left := maps.Clone(r.srv.unauth)
	r.srv.mu.RUnlock()
	if len(left) != 0 {
		t.Fatalf("calls not logged in after all ended: %v", left)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := pptpFrom(t, r, "127.0.0.1")
	if rep, err := c.OutgoingCall(ctx, 1); err != nil {
		t.Fatalf("first silent call: %+v %v", rep, err)
	}
	rep, err := c.OutgoingCall(ctx, 2)
	if err == nil || rep == nil || rep.Result != pptp.OutgoingGeneralError || rep.Error != pptp.ErrorNoResource {
		t.Fatalf("second silent call over the budget: %+v %v", rep, err)
	}
}
