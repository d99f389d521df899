package authguard

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(cfg Config) (*Guard, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	return New(cfg), c
}

var (
	attacker = netip.MustParseAddr("198.51.100.66")
	home     = netip.MustParseAddr("203.0.113.7")
)

// The Failure delay starts after Limit failures at Delay and doubles up to
// MaxDelay; the pair is blocked for as long, other users from the same
// source and the same user from elsewhere are not.
func TestBackoffPerPair(t *testing.T) {
	g, c := newTest(Config{Limit: 5, SourceLimit: 100, Delay: time.Second, MaxDelay: 30 * time.Second, Window: time.Hour})
	want := []time.Duration{0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		v := g.Failure(attacker, "alice")
		if v.Delay != w*time.Second {
			t.Fatalf("failure %d: delay %v, want %v", i+1, v.Delay, w*time.Second)
		}
		if v.Pair != i+1 || v.User != i+1 || v.Source != i+1 {
			t.Fatalf("failure %d: counts %+v", i+1, v)
		}
		if why, b := g.Blocked(attacker, "alice"); b != (w > 0) || (b && why != "source+user") {
			t.Fatalf("failure %d: blocked %v (%s)", i+1, b, why)
		}
		c.add(10 * time.Millisecond)
	}
	if _, b := g.Blocked(attacker, "bob"); b {
		t.Error("another user from the same source is blocked")
	}
	if _, b := g.Blocked(home, "alice"); b {
		t.Error("alice from another source is blocked: a remote attacker could lock her out")
	}
	if _, r := g.Refused(attacker); r {
		t.Error("the source's calls are refused below SourceLimit")
	}
	// alice from home failing once is delayed (per user), not blocked.
	if v := g.Failure(home, "alice"); v.Delay != 30*time.Second || v.Pair != 1 || v.SourceRefused != 0 {
		t.Errorf("alice from home: %+v", v)
	}
	if _, b := g.Blocked(home, "alice"); b {
		t.Error("alice from home blocked after one failure")
	}
	// The backoff ends 2d after the last failure: d held, d refused.
	c.add(59 * time.Second)
	if _, b := g.Blocked(attacker, "alice"); !b {
		t.Error("not blocked any more right after the held-back Failure")
	}
	c.add(time.Second)
	if _, b := g.Blocked(attacker, "alice"); b {
		t.Error("still blocked after the backoff")
	}
}

// A source spraying user names is refused after SourceLimit failures.
func TestSourceLimit(t *testing.T) {
	g, c := newTest(Config{Limit: 5, SourceLimit: 20})
	for i := 0; i < 20; i++ {
		if v := g.Failure(attacker, fmt.Sprintf("user%d", i)); v.Delay != 0 {
			t.Fatalf("failure %d delayed %v", i+1, v.Delay)
		}
	}
	v := g.Failure(attacker, "user20")
	if v.Delay != time.Second || v.SourceRefused != 2*time.Second || v.Source != 21 {
		t.Fatalf("21st failure: %+v", v)
	}
	if d, r := g.Refused(attacker); !r || d != 2*time.Second {
		t.Fatalf("refused %v for %v", r, d)
	}
	if why, b := g.Blocked(attacker, "nobody-yet"); !b || why != "source" {
		t.Fatalf("a new name from the source: blocked %v (%s)", b, why)
	}
	if _, r := g.Refused(home); r {
		t.Fatal("another source refused")
	}
	c.add(time.Second) // the Failure has just been sent: still refused
	if _, r := g.Refused(attacker); !r {
		t.Fatal("not refused after the held-back Failure")
	}
	c.add(time.Second)
	if _, r := g.Refused(attacker); r {
		t.Fatal("refused after the backoff")
	}
}

// A success resets the user and the pair, not the source.
func TestSuccessResets(t *testing.T) {
	g, _ := newTest(Config{Limit: 3, SourceLimit: 10})
	for i := 0; i < 5; i++ {
		g.Failure(home, "alice")
	}
	g.Success(home, `CORP\Alice`) // the same user as the authenticator sees it
	if _, b := g.Blocked(home, "alice"); b {
		t.Fatal("blocked after a success")
	}
	v := g.Failure(home, "alice")
	if v.User != 1 || v.Pair != 1 || v.Source != 6 || v.Delay != 0 {
		t.Fatalf("after a success: %+v", v)
	}
}

// Spellings of one name count as one.
func TestUserKey(t *testing.T) {
	g, _ := newTest(Config{Limit: 2, SourceLimit: 100})
	for _, u := range []string{"alice", "ALICE", `X\alice`} {
		g.Failure(attacker, u)
	}
	if _, b := g.Blocked(attacker, `Y\Alice`); !b {
		t.Fatal("respelled names escape the count")
	}
}

// Failures are forgotten after a quiet Window.
func TestWindow(t *testing.T) {
	g, c := newTest(Config{Limit: 2, SourceLimit: 100, Window: 10 * time.Minute})
	for i := 0; i < 3; i++ {
		g.Failure(attacker, "alice")
	}
	c.add(10 * time.Minute)
	if v := g.Failure(attacker, "alice"); v.Pair != 1 || v.User != 1 || v.Source != 1 || v.Delay != 0 {
		t.Fatalf("after the window: %+v", v)
	}
	// Stale keys are dropped when others are touched.
	for i := 0; i < 50; i++ {
		g.Failure(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), fmt.Sprint("u", i))
	}
	c.add(11 * time.Minute)
	g.Failure(home, "bob")
	if s, u, p := g.Len(); s != 1 || u != 1 || p != 1 {
		t.Fatalf("after a quiet window: %d sources, %d users, %d pairs, want 1 each", s, u, p)
	}
}

// Spraying names and sources never grows the tables past MaxEntries, and
// the stalest keys go first: the latest attacker stays tracked.
func TestBoundedMemory(t *testing.T) {
	g, c := newTest(Config{Limit: 5, SourceLimit: 20, MaxEntries: 100})
	for i := 0; i < 100000; i++ {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.Failure(src, fmt.Sprint("user", i))
		c.add(time.Millisecond)
	}
	if s, u, p := g.Len(); s > 100 || u > 100 || p > 100 {
		t.Fatalf("tables grew to %d sources, %d users, %d pairs (max 100)", s, u, p)
	}
	for i := 0; i < 6; i++ {
		g.Failure(attacker, "alice")
	}
	for i := 0; i < 1000; i++ { // pushes out everything older than the last 100
		g.Failure(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), fmt.Sprint("spray", i))
		if i == 50 {
			if _, b := g.Blocked(attacker, "alice"); !b {
				t.Fatal("the recent attacker was evicted before older keys")
			}
		}
	}
}

// The Guard is safe for concurrent use (run with -race).
func TestConcurrent(t *testing.T) {
	g := New(Config{MaxEntries: 64})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				src := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 100)})
				user := fmt.Sprint("u", (i*7+w)%150)
				g.Blocked(src, user)
				if i%10 == 0 {
					g.Success(src, user)
				} else {
					g.Failure(src, user)
				}
				g.Refused(src)
			}
		}()
	}
	wg.Wait()
	if s, u, p := g.Len(); s > 64 || u > 64 || p > 64 {
		t.Fatalf("tables %d %d %d past 64", s, u, p)
	}
}

func BenchmarkFailureSpray(b *testing.B) {
	g := New(Config{})
	for i := 0; i < b.N; i++ {
		g.Failure(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "user")
	}
}
