package radius

import (
	"net/netip"
	"runtime/debug"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// clockFloorDate is a date before which the box's clock cannot be right:
// this code did not exist earlier. A box without a battery-backed RTC
// starts near 1970 (or at whatever the kernel keeps) until NTP or the
// operator sets it; comparing Event-Timestamps with such a clock would
// drop every request, so before the floor they are not checked.
var clockFloorDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ClockFloor is the earliest time a set clock can show: the later of
// clockFloorDate and the commit time of the running binary (vcs.time,
// stamped by the go tool when built from a git checkout).
var ClockFloor = sync.OnceValue(func() time.Time {
	floor := clockFloorDate
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key != "vcs.time" {
				continue
			}
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil && t.After(floor) {
				floor = t
			}
		}
	}
	return floor
})

// fresh applies RFC 5176 §6.3 to a request: when it has an Event-
// Timestamp and the box's clock is set, the timestamp must be within the
// window of the clock, either way, else the request "MUST be silently
// discarded" (no NAK: a NAK would answer a replay); without one it is
// discarded when required ("SHOULD be configurable to discard"). A
// malformed one (not 4 octets) is discarded too. Each discard is counted
// and logged.
func (d *DAE) fresh(p *radius.Packet, src netip.Addr) bool {
	raw, present := p.Lookup(rfc2869.EventTimestamp_Type)
	if !present {
		if d.cfg.RequireEventTimestamp {
			d.n.noTimestamp.Add(1)
			d.drop("no event-timestamp (dae_require_event_timestamp)", src, "request", p.Code.String())
			return false
		}
		return true
	}
	at, err := radius.Date(raw)
	if err != nil {
		d.drop("malformed event-timestamp", src, "length", len(raw))
		return false
	}
	if d.window == 0 {
		return true
	}
	now := d.cfg.Now()
	if now.Before(d.floor) {
		d.log.Warn("dae: clock not set, event-timestamp not checked", "from", src.String(),
			"now", now.UTC().Format(time.RFC3339), "clock_floor", d.floor.UTC().Format(time.RFC3339))
		return true
	}
	if skew := now.Sub(at); skew > d.window || skew < -d.window {
		d.n.stale.Add(1)
		d.drop("stale event-timestamp", src, "request", p.Code.String(), "event_timestamp", at.UTC().Format(time.RFC3339),
			"age", skew.Truncate(time.Second).String(), "window", d.window.String())
		return false
	}
	return true
}
