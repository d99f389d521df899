package session

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

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
