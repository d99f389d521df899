package login

import (
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)} }

func TestGate(t *testing.T) {
	clk := newFakeClock()
	g := NewGate()
	// Three free tries.
	for i := 1; i <= 3; i++ {
		if w := g.Wait(clk.now()); w != 0 {
			t.Fatalf("try %d: wait %s, want none", i, w)
		}
		if w := g.Fail(clk.now()); w != 0 {
			t.Fatalf("fail %d: wait %s, want none", i, w)
		}
	}
	// Then 5 s, doubling, capped at 5 min.
	want := []time.Duration{5, 10, 20, 40, 80, 160, 300, 300}
	for i, sec := range want {
		w := g.Fail(clk.now())
		if w != sec*time.Second {
			t.Fatalf("fail %d: wait %s, want %ds", 4+i, w, sec)
		}
		if got := g.Wait(clk.now()); got != w {
			t.Fatalf("after fail %d: Wait %s, want %s", 4+i, got, w)
		}
		clk.add(w - time.Second)
		if got := g.Wait(clk.now()); got != time.Second {
			t.Fatalf("1s before the end: Wait %s", got)
		}
		clk.add(time.Second)
		if got := g.Wait(clk.now()); got != 0 {
			t.Fatalf("at the end: Wait %s", got)
		}
	}
	if g.Fails() != 11 {
		t.Fatalf("Fails %d", g.Fails())
	}
	// A right password opens the gate: three free tries again.
	g.Fail(clk.now())
	g.Success()
	if w := g.Wait(clk.now()); w != 0 {
		t.Fatalf("after success: wait %s", w)
	}
	for i := 0; i < 3; i++ {
		if w := g.Fail(clk.now()); w != 0 {
			t.Fatalf("after success, fail %d: wait %s", i+1, w)
		}
	}
	if w := g.Fail(clk.now()); w != 5*time.Second {
		t.Fatalf("after success, fail 4: wait %s, want 5s", w)
	}
}
