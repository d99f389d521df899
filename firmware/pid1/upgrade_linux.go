package pid1

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/firmware/slots"
	"github.com/pptpbox/pptpbox/firmware/update"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// Upgrades (package firmware/slots has the state machine, firmware/update the file):
//
//	boot:    slotsAtBoot reads the record; the update just booted goes on trial, a failed
//	         one is reported ("*** upgrade: slot B (v2) failed, back on slot A (v1): why")
//	USB:     after the config, an update file on the PPTPBOX stick is verified and installed
//	         (unless it runs already or failed before), then the box reboots into it
//	console: `upgrade FILE`; boxctl upgrade streams a file to upgradeSocket
//	trial:   superviseUpgrade keeps the slot once boxd has answered with the ports up for the
//	         trial hold, or records why not and reboots into the old slot

// Paths and options of the upgrade.
const (
	bootMount      = "/boot"
	updateKeyFile  = "/etc/pptpbox/update.pub"
	firmwareStatus = "/run/pptpbox/firmware.json"
	optSlot        = "pptpbox.slot"          // the slot GRUB booted (grub.cfg sets it)
	optFactory     = "pptpbox.factory_reset" // CONFIG back to the embedded default at this boot
	// maxUpdateSize bounds an update file read into memory (a box has 256 MiB and more).
	maxUpdateSize = 3*update.MaxFileSize + update.MaxHeader + 64
)

// upgrader is the init's side of the boot slots.
type upgrader struct {
	mu      sync.Mutex // one boot partition operation at a time
	dev     string     // the boot partition ("" when not found)
	running slots.Slot // "" for a direct kernel boot
	role    slots.Role
	pub     ed25519.PublicKey
	keyErr  error
	status  control.Firmware
	busy    bool // an install is under way or done: no second one before the reboot
}

// slotsAtBoot finds the boot partition, reads the last upgrade's record and moves it on.
func (b *box) slotsAtBoot() {
	u := &upgrader{}
	b.up = u
	if data, err := os.ReadFile(updateKeyFile); err != nil {
		u.keyErr = err
	} else {
		u.pub, u.keyErr = update.ParsePublicKey(data)
	}
	if v, ok := b.cmd.Value(optSlot); ok {
		s, err := slots.ParseSlot(v)
		if err != nil {
			b.lg.Error("upgrade", "err", err)
		}
		u.running = s
	}
	deadline := time.Now().Add(5 * time.Second)
	for u.dev == "" && time.Now().Before(deadline) {
		for _, v := range scanFAT() {
			if v.Label == bootLabel && !v.USB {
				u.dev = v.Dev
				break
			}
		}
		if u.dev == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if u.dev == "" {
		b.lg.Warn("upgrade: no boot partition (" + bootLabel + ") found: upgrades are off")
		return
	}
	if u.running == "" {
		b.lg.Warn("upgrade: not booted from a slot (no " + optSlot + "= on the kernel command line): upgrades are off")
	}
	err := u.withBoot(func(d *slots.Disk) error {
		if u.running != "" {
			role, r, err := d.AtBoot(u.running)
			u.role = role
			switch role {
			case slots.RolledBack:
				b.printBanner("upgrade: " + r.String())
			case slots.OnTrial:
				b.lg.Info("upgrade: " + r.String() + ": kept once boxd has served with the ports up")
			}
			if err != nil {
				return err
			}
		}
		return u.refresh(d)
	})
	if err != nil {
		b.lg.Error("upgrade", "err", err)
	}
	b.lg.Info("slots", "running", u.status.Running, "committed", u.status.Committed, "versions", u.versions(), "last_upgrade", u.status.LastUpgrade)
}

const bootLabel = "PPTPBOOT"

// withBoot mounts the boot partition, runs fn and unmounts it, so that the FAT is clean
// whenever nobody is writing it.
func (u *upgrader) withBoot(fn func(d *slots.Disk) error) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dev == "" {
		return errors.New("upgrade: no boot partition")
	}
	if err := os.MkdirAll(bootMount, 0o755); err != nil {
		return err
	}
	mount := func() error {
		if err := unix.Mount(u.dev, bootMount, "vfat", unix.MS_NOATIME|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("upgrade: mount %s: %w", u.dev, err)
		}
		return nil
	}
	if err := mount(); err != nil {
		return err
	}
	d := &slots.Disk{Dir: bootMount, Reread: func() error {
		// Read back from the device, not the page cache: unmount, drop the caches
		// (the block device's own too), mount again.
		unix.Sync()
		if err := unix.Unmount(bootMount, 0); err != nil {
			return err
		}
		os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
		return mount()
	}}
	err := fn(d)
	unix.Sync()
	if uerr := unix.Unmount(bootMount, 0); uerr != nil && err == nil {
		err = fmt.Errorf("upgrade: unmount: %w", uerr)
	}
	return err
}

// refresh reads the slots into the status and writes it for boxd's show system.
func (u *upgrader) refresh(d *slots.Disk) error {
	st := control.Firmware{Running: string(u.running), LastUpgrade: "none"}
	if c, err := d.Committed(); err == nil {
		st.Committed = string(c)
	}
	for _, s := range []slots.Slot{slots.A, slots.B} {
		st.Slots = append(st.Slots, control.FirmwareSlot{Name: string(s), Version: d.Version(s)})
	}
	r, err := d.Record()
	if err == nil {
		st.LastUpgrade = r.String()
	}
	u.status = st
	data, _ := json.Marshal(st)
	os.MkdirAll(filepath.Dir(firmwareStatus), 0o755)
	if werr := os.WriteFile(firmwareStatus, data, 0o644); werr != nil && err == nil {
		err = werr
	}
	return err
}

// versions is "A:v1 B:v2" ("-" for an empty slot).
func (u *upgrader) versions() string {
	var parts []string
	for _, s := range u.status.Slots {
		v := s.Version
		if v == "" {
			v = "-"
		}
		parts = append(parts, s.Name+":"+v)
	}
	return strings.Join(parts, " ")
}

// readyFields is what the ready line says about the slots.
func (b *box) readyFields() string {
	u := b.up
	if u == nil || u.dev == "" {
		return ""
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return fmt.Sprintf(" slot=%s slots=%s upgrade=%q", or(u.status.Running, "-"), strings.ReplaceAll(u.versions(), " ", ","), u.status.LastUpgrade)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// install verifies an update file and writes it to the slot not running, then asks for
// the reboot that tries it. Progress and the result go to out.
func (b *box) install(data []byte, source string, out io.Writer) error {
	u := b.up
	if u == nil || u.dev == "" || u.running == "" {
		return errors.New("upgrade: this boot has no slots (no boot partition, or a direct kernel boot)")
	}
	if u.keyErr != nil {
		return fmt.Errorf("upgrade: this image has no update key (%v): it cannot accept updates", u.keyErr)
	}
	board := b.boardName()
	upd, err := update.Verify(data, u.pub, board)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("upgrade: %s: version %s for %s, signed with key %s: verified", source, upd.Version, board, upd.KeyID)
	fmt.Fprintln(out, msg)
	b.lg.Info(msg)
	u.mu.Lock()
	if u.busy {
		u.mu.Unlock()
		return errors.New("upgrade: another upgrade is being installed, or waits for its reboot")
	}
	u.busy = true
	u.mu.Unlock()
	var rec slots.Record
	err = u.withBoot(func(d *slots.Disk) error {
		var err error
		rec, err = d.Install(upd, u.running, source, func(s string) {
			fmt.Fprintf(out, "upgrade: %s\n", s)
			b.lg.Info("upgrade: " + s)
		})
		if rerr := u.refresh(d); err == nil {
			err = rerr
		}
		return err
	})
	if err != nil {
		u.mu.Lock()
		u.busy = false
		u.mu.Unlock()
		return err
	}
	msg = fmt.Sprintf("upgrade: slot %s holds %s now; rebooting to try it (slot %s stays the way back)", rec.To, rec.ToVersion, rec.From)
	fmt.Fprintln(out, msg)
	b.lg.Info(msg)
	b.requestShutdown("reboot")
	return nil
}

// upgradeFromUSB installs an update file found at the root of the PPTPBOX stick; true
// means it did, and the box is to reboot into it.
func (b *box) upgradeFromUSB() bool {
	if b.usbDev == "" || b.up == nil || b.up.running == "" {
		return false
	}
	files, _ := filepath.Glob(filepath.Join(usbMount, "*"+update.Extension))
	if len(files) == 0 {
		return false
	}
	if b.up.role == slots.OnTrial {
		b.lg.Info("upgrade: this slot is on trial; the USB stick's update waits for the next boot", "file", files[0])
		return false
	}
	sort.Strings(files)
	if len(files) > 1 {
		b.printBanner(fmt.Sprintf("upgrade: %d update files on the USB stick, none applied: leave one", len(files)))
		return false
	}
	path := files[0]
	data, err := readLimited(path, maxUpdateSize)
	if err == nil {
		var upd *update.Update
		if upd, err = update.Verify(data, b.up.pub, b.boardName()); err == nil {
			var skip string
			b.up.withBoot(func(d *slots.Disk) error { skip = d.Skip(upd, b.up.running); return nil })
			if skip != "" {
				b.lg.Info("upgrade: USB "+path+" not applied: "+skip, "version", upd.Version)
				return false
			}
		}
	}
	if err == nil && b.up.keyErr != nil {
		err = fmt.Errorf("this image has no update key (%v)", b.up.keyErr)
	}
	if err == nil {
		// The log is on the console already.
		err = b.install(data, "usb", io.Discard)
	}
	if err != nil {
		b.printBanner(fmt.Sprintf("upgrade: USB %s refused, not applied: %v", path, err))
		return false
	}
	return true
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes: not an update file", limit)
	}
	return data, nil
}

// superviseUpgrade runs the trial of a slot booted once: boxd must answer, with the ports
// up, for the trial hold without a break. Then the slot is committed; else the record says
// why and the box reboots into the old slot.
func (b *box) superviseUpgrade() {
	u := b.up
	hold := DefaultTrialHold
	if v, ok := b.cmd.Value(optTrial); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			hold = d
		}
	}
	t := NewTrial(time.Now(), hold)
	b.lg.Info("upgrade: slot on trial", "slot", u.running, "hold", hold, "max_fails", t.MaxFails, "ready_within", t.ReadyWithin)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// boxd's exits are counted from its restarts (the config trial reads its exits
	// channel); a config rollback replaces the service and starts the count again.
	var svc *service
	var seen int
	for range tick.C {
		s := b.svc()
		s.mu.Lock()
		restarts := s.restarts
		s.mu.Unlock()
		if s != svc {
			svc, seen = s, restarts
		}
		st := t.State()
		for ; seen < restarts && st == TrialTrying; seen++ {
			st = t.Exited(time.Now(), s.lastExit())
		}
		// A boxd the restart policy gave up on (it said a restart cannot help, or died
		// the same way again and again) will not serve: no need to wait out the limit.
		if why := s.stoppedWhy(); why != "" && st == TrialTrying {
			st = t.GaveUp(why)
		}
		if st == TrialTrying {
			st = t.Tick(time.Now(), b.boxdReady() && b.portsUp())
		}
		switch st {
		case TrialPromoted:
			err := u.withBoot(func(d *slots.Disk) error {
				r, err := d.Confirm(u.running)
				if err == nil {
					msg := fmt.Sprintf("pptpbox upgrade: %s; slot %s is committed", r, u.running)
					fmt.Fprintln(b.console, msg)
					b.lg.Info(msg)
				}
				if rerr := u.refresh(d); err == nil {
					err = rerr
				}
				return err
			})
			if err != nil {
				b.printBanner(fmt.Sprintf("upgrade: slot %s served, but committing it failed: %v", u.running, err))
			}
			return
		case TrialRolledBack:
			var r slots.Record
			err := u.withBoot(func(d *slots.Disk) error {
				var err error
				r, err = d.Fail(u.running, t.Reason())
				return err
			})
			if err != nil {
				b.lg.Error("upgrade: record the failure", "err", err)
			}
			b.printBanner("upgrade: " + r.String() + "; rebooting into slot " + string(u.running.Other()))
			b.requestShutdown("reboot")
			return
		}
	}
}

// portsUp reports whether every port the box has is up, and it has one. A port whose card
// is missing (a box that degrades: a USB NIC not plugged in) does not hold a trial back:
// the old slot would serve without it too.
func (b *box) portsUp() bool {
	names := b.ports.taken()
	if len(names) == 0 {
		return false
	}
	for name := range names {
		state, err := os.ReadFile("/sys/class/net/" + name + "/operstate")
		if err != nil || strings.TrimSpace(string(state)) != "up" {
			return false
		}
	}
	return true
}
