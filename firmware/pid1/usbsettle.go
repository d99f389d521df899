package pid1

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// A USB stick is found by its label, so the init must not look before the stick is a block
// device, and must not wait long on a box without one. The stick gets there in stages, each
// after the one before, at a pace set by the machine (a slow ARM board, QEMU's TCG under
// AAVMF enumerate seconds later than a PC):
//
//	host controller driver loaded -> root hub (usbN) -> device addressed (1-1) ->
//	usb-storage/uas bound to its interface -> SCSI scan -> sd_mod's disk (sda) -> our scan
//
// There is no file in sysfs that says "enumeration done", so usbSettle watches what there is
// and calls the bus settled when nothing has changed for Quiet, not before Min after the
// first controller appeared, and never while a storage interface is still waiting for its
// disk; Max bounds it all (a stick whose disk never comes: no sd_mod, a broken stick).
// It is plain state driven by the caller's clock, tested without a bus.

// USBSnapshot is what the init sees of the USB bus at one moment.
type USBSnapshot struct {
	Controllers int      // root hubs (/sys/bus/usb/devices/usbN)
	Devices     []string // everything else on the bus: 1-1, 1-1:1.0 ...
	Pending     []string // storage interfaces bound to usb-storage or uas with no disk yet
	Disks       []string // block devices behind USB
}

func (s USBSnapshot) key() string {
	return fmt.Sprint(s.Controllers, s.Devices, s.Pending, s.Disks)
}

// USB settling defaults: measured boots put the stick's disk 1-3 s after the controller
// under QEMU TCG (amd64 and arm64); Max is the most a box with a dead stick waits.
const (
	DefaultUSBMin   = 2 * time.Second
	DefaultUSBQuiet = 1500 * time.Millisecond
	DefaultUSBMax   = 15 * time.Second
)

type usbSettle struct {
	Min, Quiet, Max time.Duration

	first   time.Time // a controller was first seen; zero: none yet
	changed time.Time // the snapshot last changed
	last    string
	seen    bool
}

func newUSBSettle() *usbSettle {
	return &usbSettle{Min: DefaultUSBMin, Quiet: DefaultUSBQuiet, Max: DefaultUSBMax}
}

// Observe takes the bus as seen at now and reports whether it has settled; when it settled
// because Max ran out with storage still pending, why says so (for the log).
func (u *usbSettle) Observe(now time.Time, s USBSnapshot) (settled bool, why string) {
	k := s.key()
	if !u.seen || k != u.last {
		u.seen, u.last, u.changed = true, k, now
	}
	if s.Controllers == 0 {
		return true, ""
	}
	if u.first.IsZero() {
		u.first = now
	}
	if now.Sub(u.first) >= u.Max {
		if len(s.Pending) > 0 {
			return true, fmt.Sprintf("USB storage %s has no disk after %s (is sd_mod in the board's modules?)",
				strings.Join(s.Pending, " "), u.Max)
		}
		return true, ""
	}
	if len(s.Pending) > 0 {
		return false, ""
	}
	return now.Sub(u.first) >= u.Min && now.Sub(u.changed) >= u.Quiet, ""
}

// Elapsed is how long the init has watched a controller (0: none seen).
func (u *usbSettle) Elapsed(now time.Time) time.Duration {
	if u.first.IsZero() {
		return 0
	}
	return now.Sub(u.first)
}

// sortedCopy returns a sorted copy of names (snapshots compare as text).
func sortedCopy(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}
