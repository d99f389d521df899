package pid1

import (
	"strings"
	"testing"
	"time"
)

// TestUSBSettle drives usbSettle through boots seen on the serial console: the stages of a
// stick arriving one after another, each step a snapshot at a time since the first look.
func TestUSBSettle(t *testing.T) {
	hub := USBSnapshot{Controllers: 2}
	dev := USBSnapshot{Controllers: 2, Devices: []string{"1-1", "1-1:1.0"}}
	bound := USBSnapshot{Controllers: 2, Devices: dev.Devices, Pending: []string{"1-1:1.0"}}
	disk := USBSnapshot{Controllers: 2, Devices: dev.Devices, Disks: []string{"sda"}}
	type step struct {
		at   time.Duration
		snap USBSnapshot
		want bool
	}
	tests := []struct {
		name  string
		steps []step
		why   string // the last step's why contains this ("" : empty)
	}{
		{"no controller: settled at once", []step{{0, USBSnapshot{}, true}}, ""},
		{"empty bus waits Min then settles", []step{{0, hub, false}, {time.Second, hub, false}, {2 * time.Second, hub, true}}, ""},
		// arm64 under AAVMF: the device is addressed after Min; the bus is not settled
		// until it has been quiet, and a storage interface holds it until its disk comes.
		{"slow enumeration", []step{
			{0, hub, false}, {1900 * time.Millisecond, hub, false},
			{2100 * time.Millisecond, dev, false}, // changed: quiet again from here
			{3000 * time.Millisecond, bound, false},
			{6000 * time.Millisecond, bound, false}, // pending holds it past Quiet
			{6200 * time.Millisecond, disk, false},
			{7000 * time.Millisecond, disk, false},
			{7700 * time.Millisecond, disk, true},
		}, ""},
		{"a disk that never comes gives up at Max and says why", []step{
			{0, bound, false}, {14 * time.Second, bound, false}, {15 * time.Second, bound, true},
		}, "has no disk after 15s (is sd_mod"},
		{"a bus that keeps changing settles at Max", []step{
			{0, hub, false}, {5 * time.Second, dev, false}, {10 * time.Second, hub, false}, {15 * time.Second, dev, true},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUSBSettle()
			t0 := time.Unix(1000, 0)
			var why string
			for _, s := range tt.steps {
				var got bool
				got, why = u.Observe(t0.Add(s.at), s.snap)
				if got != s.want {
					t.Fatalf("at %s with %+v: settled=%v, want %v", s.at, s.snap, got, s.want)
				}
			}
			if tt.why == "" && why != "" || !strings.Contains(why, tt.why) {
				t.Errorf("why = %q, want %q", why, tt.why)
			}
		})
	}
}
