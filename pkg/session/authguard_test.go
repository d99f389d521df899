package session

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/authguard"
	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// fakeClock is the guard's clock in tests: backoff ends when the test says.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestPasswordGuessingSlowed: past the limit a wrong password's Failure is
// held back, the guesser's (source, user) then fails even the right
// password unchecked, another user from the source still gets in, and past
// the source limit the source's calls are refused with Outgoing-Call-Reply
// result do-not-accept; when the backoff ends the right password works
// again. Counters and log lines say so. (Before, nothing slowed a guesser:
// 4,105 wrong logins in 3 s from one address.)
func TestPasswordGuessingSlowed(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newRig(t, func(c *Config) {
		// Real delays of a few ms (holdFailure waits them); the backoff
		// windows run on the fake clock, which stands still.
		c.Guard = authguard.New(authguard.Config{Limit: 3, SourceLimit: 6, Delay: time.Millisecond, MaxDelay: 4 * time.Millisecond, Now: clk.now})
	})
	login := func(user, pw string) error {
		_, err := r.dial(t, user, pw, nil)
		return err
	}
	for i := 0; i < 3; i++ {
		if login("alice", "wrong") == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if a := r.srv.Stats().Auth; a.DelayedFailures != 0 || a.BlockedLogins != 0 {
		t.Fatalf("backoff before the limit: %+v", a)
	}
	if login("alice", "wrong") == nil {
		t.Fatal("wrong password accepted")
	}
	if a := r.srv.Stats().Auth; a.DelayedFailures != 1 {
		t.Fatalf("the 4th failure was not delayed: %+v", a)
	}
	// The guesser's pair is in backoff: even the right password fails,
	// unchecked, so guessing on gains nothing.
	if login("alice", "alice-pw") == nil {
		t.Fatal("alice logged in from a source+user in backoff")
	}
	if a := r.srv.Stats().Auth; a.BlockedLogins != 1 {
		t.Fatalf("blocked_logins %d, want 1", a.BlockedLogins)
	}
	// Another user from the same source is not affected (source: 5 of 6).
	bob, err := r.dial(t, "bob", "bob-pw", nil)
	if err != nil {
		t.Fatalf("bob refused: %v", err)
	}
	bob.Close()
	// Two more failures take the source past its limit: calls refused.
	for i := 0; i < 2; i++ {
		login("carol", "wrong")
	}
	err = login("bob", "bob-pw")
	if err == nil || !strings.Contains(err.Error(), "do-not-accept") {
		t.Fatalf("call from a source in backoff: %v, want an Outgoing-Call-Reply do-not-accept", err)
	}
	st := r.srv.Stats()
	if st.Auth.RefusedCalls != 1 || st.CallsRefused != 1 {
		t.Fatalf("refused_calls %d calls_refused %d, want 1 and 1", st.Auth.RefusedCalls, st.CallsRefused)
	}
	if st.Auth.GuardSources != 1 || st.Auth.GuardUsers != 2 || st.Auth.GuardPairs != 2 {
		t.Fatalf("guard tables %+v", st.Auth)
	}
	// The backoff ends: the right password works and resets alice.
	clk.add(time.Minute)
	if err := login("alice", "alice-pw"); err != nil {
		t.Fatalf("alice after the backoff: %v", err)
	}
	if st := r.srv.Stats(); st.Auth.GuardUsers != 1 || st.Auth.GuardPairs != 1 {
		t.Fatalf("a success did not reset alice: %+v", st.Auth)
	}
}

// lineCounter counts the log lines that contain a string.
type lineCounter struct {
	sub string
	n   atomic.Int64
}

func (l *lineCounter) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(l.sub)) {
		l.n.Add(1)
	}
	return len(b), nil
}

// TestGuardRefusalLogRateLimited: a source in backoff may send refused
// Outgoing-Call-Requests as fast as it likes; each is counted, but the
// refusal is logged at most once a second (as every other refusal an
// attacker can trigger; here once an hour), not once per request.
func TestGuardRefusalLogRateLimited(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := authguard.New(authguard.Config{SourceLimit: 1, Now: clk.now})
	lines := &lineCounter{sub: "source in login backoff"}
	r := newRig(t, func(c *Config) {
		c.Guard = g
		c.Logger = slog.New(slog.NewTextHandler(lines, nil))
	})
	// The limiter's interval outlasts any slow run of the five calls.
	r.srv.lim.logGuard.Every = time.Hour
	atk := netip.MustParseAddr("127.0.0.2")
	for range 2 {
		g.Failure(atk, "x")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := pptpFrom(t, r, atk.String())
	for id := uint16(1); id <= 5; id++ {
		rep, err := c.OutgoingCall(ctx, id)
		if err == nil || rep == nil || rep.Result != pptp.OutgoingDoNotAccept {
			t.Fatalf("call %d from a source in backoff: %+v %v", id, rep, err)
		}
	}
	if n := r.srv.Stats().Auth.RefusedCalls; n != 5 {
		t.Fatalf("guard_refused_calls %d, want 5", n)
	}
	if n := lines.n.Load(); n != 1 {
		t.Fatalf("%d refusal log lines for 5 refusals, want 1", n)
	}
}
