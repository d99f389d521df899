package radius

import (
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// fakeClock is a settable clock for the DAE's Event-Timestamp checks.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// clockNow is a date when the box's clock is set (after every floor).
var clockNow = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)

// replayDAE is r's client with a DAE on a fake clock, configured by mutate.
func replayDAE(t *testing.T, r *daeRig, clk *fakeClock, mutate func(*DAEConfig)) *DAE {
	cfg := DAEConfig{
		Clients:    map[netip.Addr][]byte{daeSrc: r.secret},
		HangupCall: r.d.cfg.HangupCall,
		HangupUser: r.d.cfg.HangupUser,
		Now:        clk.now,
		Logger:     testLogger(t),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return r.c.NewDAE(cfg)
}

// byUser names alice, with an Event-Timestamp of at (none when zero).
func byUser(at time.Time) func(p *radius.Packet) {
	return func(p *radius.Packet) {
		rfc2865.UserName_SetString(p, "alice")
		if !at.IsZero() {
			rfc2869.EventTimestamp_Set(p, at)
		}
	}
}

// TestDAEEventTimestamp: with the clock set, a Disconnect-Request whose
// Event-Timestamp is more than the window (300 s) from it, either way, is
// silently discarded and counted (RFC 5176 §6.3); within it, obeyed. A
// malformed one is discarded. With the clock not set (a box without RTC
// before NTP) or the window off, it is not checked.
func TestDAEEventTimestamp(t *testing.T) {
	r := newDAERig(t)
	clk := &fakeClock{t: clockNow}
	d := replayDAE(t, r, clk, nil)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"fresh", clockNow.Add(-10 * time.Second), true},
		{"at the window's edge", clockNow.Add(-300 * time.Second), true},
		{"a little ahead", clockNow.Add(30 * time.Second), true},
		{"stale", clockNow.Add(-301 * time.Second), false},
		{"an hour old", clockNow.Add(-time.Hour), false},
		{"far ahead", clockNow.Add(301 * time.Second), false},
		{"none", time.Time{}, true},
	} {
		n := len(r.users)
		out := d.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(tc.at)), daeSrc)
		if (out != nil) != tc.ok || (len(r.users) > n) != tc.ok {
			t.Errorf("%s: answered %v, hang-ups %d -> %d, want ok=%v", tc.name, out != nil, n, len(r.users), tc.ok)
		}
	}
	malformed := r.request(t, radius.CodeDisconnectRequest, r.secret, func(p *radius.Packet) {
		rfc2865.UserName_SetString(p, "alice")
		p.Add(rfc2869.EventTimestamp_Type, radius.Attribute{1, 2, 3})
	})
	if d.Handle(malformed, daeSrc) != nil {
		t.Error("malformed Event-Timestamp answered")
	}
	if s := d.Stats(); s.Stale != 3 || s.Dropped != 4 || s.ACKs != 4 || s.NoTimestamp != 0 {
		t.Errorf("stats %+v", s)
	}
	// The client's stats (boxctl stats "radius") carry the DAE's.
	if s := r.c.Stats(); s.DAEStale != 3 || s.DAEDropped != 4 || s.DAEACKs != 4 {
		t.Errorf("client stats %+v", s)
	}

	// Clock not set: 1970 plus the boot time; nothing to compare with.
	clk.t = time.Unix(300, 0)
	if d.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(clockNow.Add(-time.Hour))), daeSrc) == nil {
		t.Error("clock not set: request dropped")
	}
	// Window off.
	off := replayDAE(t, r, &fakeClock{t: clockNow}, func(c *DAEConfig) { c.EventWindow = -1 })
	if off.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(clockNow.Add(-time.Hour))), daeSrc) == nil {
		t.Error("window off: request dropped")
	}
	// A configured window.
	narrow := replayDAE(t, r, &fakeClock{t: clockNow}, func(c *DAEConfig) { c.EventWindow = 30 * time.Second })
	if narrow.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(clockNow.Add(-31*time.Second))), daeSrc) != nil {
		t.Error("30 s window: a 31 s old request answered")
	}
}

// TestDAERequireEventTimestamp: with the switch on, a request without an
// Event-Timestamp is silently discarded (RFC 5176 §6.3: "SHOULD be
// configurable") and counted; one with a fresh one is obeyed.
func TestDAERequireEventTimestamp(t *testing.T) {
	r := newDAERig(t)
	d := replayDAE(t, r, &fakeClock{t: clockNow}, func(c *DAEConfig) { c.RequireEventTimestamp = true })
	if d.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(time.Time{})), daeSrc) != nil {
		t.Error("request without Event-Timestamp answered")
	}
	if d.Handle(r.request(t, radius.CodeCoARequest, r.secret, byUser(time.Time{})), daeSrc) != nil {
		t.Error("CoA-Request without Event-Timestamp answered")
	}
	if d.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(clockNow)), daeSrc) == nil {
		t.Error("request with a fresh Event-Timestamp dropped")
	}
	if s := d.Stats(); s.NoTimestamp != 2 || s.Dropped != 2 || s.ACKs != 1 {
		t.Errorf("stats %+v", s)
	}
	if s := r.c.Stats(); s.DAENoTimestamp != 2 {
		t.Errorf("client stats %+v", s)
	}
}

// TestDAEReplay: a captured Disconnect-Request replayed later. Within the
// window it is a duplicate (RFC 5176 §6.3: the duplicate window is the
// Event-Timestamp window): answered again, but acted on once, even after
// many other requests; after the window it is stale and discarded.
func TestDAEReplay(t *testing.T) {
	r := newDAERig(t)
	clk := &fakeClock{t: clockNow}
	d := replayDAE(t, r, clk, nil)
	captured := r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(clockNow))
	first := d.Handle(captured, daeSrc)
	if first == nil || len(r.users) != 1 {
		t.Fatalf("first: answered %v, %d hang-ups", first != nil, len(r.users))
	}
	// The server goes on with 100 other requests in the next 4 minutes.
	for i := range 100 {
		clk.t = clockNow.Add(time.Duration(i) * 2 * time.Second)
		d.Handle(r.request(t, radius.CodeDisconnectRequest, r.secret, func(p *radius.Packet) {
			rfc2865.UserName_SetString(p, "bob")
			rfc2869.EventTimestamp_Set(p, clk.t)
		}), daeSrc)
	}
	clk.t = clockNow.Add(250 * time.Second)
	if again := d.Handle(captured, daeSrc); string(again) != string(first) || len(r.users) != 101 || r.users[100] != "bob" {
		t.Errorf("replay within the window: same answer %v, hang-ups %d", string(again) == string(first), len(r.users))
	}
	clk.t = clockNow.Add(301 * time.Second)
	if d.Handle(captured, daeSrc) != nil || len(r.users) != 101 {
		t.Errorf("replay after the window obeyed (%d hang-ups)", len(r.users))
	}
	if s := d.Stats(); s.Stale != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestDAEReplayServerClockAhead: a server whose clock is ahead of the box's
// (by less than the window) stamps a request that stays fresh here for up
// to twice the window after it arrives; a replay in that time must still
// be a duplicate, answered but not acted on again.
func TestDAEReplayServerClockAhead(t *testing.T) {
	r := newDAERig(t)
	clk := &fakeClock{t: clockNow}
	d := replayDAE(t, r, clk, nil)
	captured := r.request(t, radius.CodeDisconnectRequest, r.secret, byUser(clockNow.Add(290*time.Second)))
	first := d.Handle(captured, daeSrc)
	if first == nil || len(r.users) != 1 {
		t.Fatalf("first: answered %v, %d hang-ups", first != nil, len(r.users))
	}
	clk.t = clockNow.Add(400 * time.Second) // the timestamp is 110 s old: fresh
	if again := d.Handle(captured, daeSrc); string(again) != string(first) || len(r.users) != 1 {
		t.Errorf("replay 400 s later: same answer %v, hang-ups %d, want 1", string(again) == string(first), len(r.users))
	}
	clk.t = clockNow.Add(591 * time.Second) // 301 s old: stale
	if d.Handle(captured, daeSrc) != nil || len(r.users) != 1 {
		t.Errorf("replay after the window obeyed (%d hang-ups)", len(r.users))
	}
}
