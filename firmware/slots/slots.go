// Package slots keeps the two kernel+initramfs slots of the boot partition and moves the
// box between them: an update is written to the slot not running, booted once, and kept
// only when the init on it says it is good. Everything is in files on the boot partition
// (mounted at Disk.Dir), so the state survives any reset:
//
//	grub/grubenv   pptpbox_slot (committed slot), pptpbox_try (one-shot trial, cleared by
//	               GRUB before it boots it), pptpbox_args (extra kernel arguments)
//	A/ B/          vmlinuz, initrd.zst, board.dtb, VERSION (written last: a slot without
//	               it is empty or half written)
//	upgrade.txt    the last upgrade's Record
//
// The last upgrade moves through these states (the Record's State):
//
//	writing --(files written, read back, VERSION, pptpbox_try set)--> staged
//	staged  --(GRUB booted the new slot, its init started: AtBoot)--> booted
//	booted  --(boxd ready with the ports up for the hold: Confirm)--> good (slot committed)
//	booted  --(boxd failed its check: Fail, then a reboot)----------> failing
//	staged|booted|failing --(the old slot is running again: AtBoot)--> failed (with why)
//
// A new slot that never reaches its init (kernel panic, hang before the watchdog is fed)
// is covered by GRUB alone: it cleared pptpbox_try before booting, so the reset lands in the
// committed slot, whose init finds the record still "staged" or "booted" and says so.
package slots

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pptpbox/pptpbox/firmware/grubenv"
	"github.com/pptpbox/pptpbox/firmware/update"
	"github.com/pptpbox/pptpbox/pkg/atomicfile"
)

// Slot is A or B.
type Slot string

const (
	A Slot = "A"
	B Slot = "B"
)

// Other is the slot that is not s.
func (s Slot) Other() Slot {
	if s == A {
		return B
	}
	return A
}

// ParseSlot reads "A" or "B".
func ParseSlot(s string) (Slot, error) {
	switch Slot(s) {
	case A, B:
		return Slot(s), nil
	}
	return "", fmt.Errorf("slots: %q is not slot A or B", s)
}

// State is where the last upgrade is.
type State string

const (
	None    State = ""
	Writing State = "writing"
	Staged  State = "staged"
	Booted  State = "booted"
	Good    State = "good"
	Failing State = "failing"
	Failed  State = "failed"
)

// Record is the last upgrade, kept in RecordName.
type Record struct {
	State       State
	From, To    Slot
	FromVersion string
	ToVersion   string
	Source      string // usb, console, boxctl, http
	Hash        string // SHA-256 of the update file
	Reason      string // why it failed
	// FailedHashes are the update files that failed before (the last MaxFailed), so
	// that a stick left in is not tried again after a later upgrade.
	FailedHashes []string
}

// MaxFailed is how many failed updates a record remembers.
const MaxFailed = 8

// failed marks the record's update failed and remembers its hash.
func (r *Record) failed() {
	r.State = Failed
	r.remember()
}

func (r *Record) remember() {
	if r.Hash == "" || slices.Contains(r.FailedHashes, r.Hash) {
		return
	}
	r.FailedHashes = append(r.FailedHashes, r.Hash)
	if n := len(r.FailedHashes); n > MaxFailed {
		r.FailedHashes = r.FailedHashes[n-MaxFailed:]
	}
}

// Names on the boot partition.
const (
	EnvName     = "grub/grubenv"
	RecordName  = "upgrade.txt"
	VersionName = "VERSION"
)

// Env variables (see grub.cfg in firmware/image).
const (
	EnvSlot = "pptpbox_slot"
	EnvTry  = "pptpbox_try"
	EnvArgs = "pptpbox_args"
)

// Encode writes the record as "key=value" lines.
func (r Record) Encode() []byte {
	var b bytes.Buffer
	for _, kv := range [][2]string{
		{"state", string(r.State)}, {"from", string(r.From)}, {"to", string(r.To)},
		{"from_version", r.FromVersion}, {"to_version", r.ToVersion}, {"source", r.Source},
		{"sha256", r.Hash}, {"reason", r.Reason}, {"failed_sha256", strings.Join(r.FailedHashes, " ")},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], strings.Join(strings.Fields(kv[1]), " "))
	}
	return b.Bytes()
}

// ParseRecord reads what Encode wrote; unknown keys are skipped, a bad slot is an error.
func ParseRecord(data []byte) (Record, error) {
	var r Record
	var err error
	for _, l := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "state":
			r.State = State(v)
		case "from", "to":
			var s Slot
			if v != "" {
				if s, err = ParseSlot(v); err != nil {
					return Record{}, fmt.Errorf("%s: %w", RecordName, err)
				}
			}
			if k == "from" {
				r.From = s
			} else {
				r.To = s
			}
		case "from_version":
			r.FromVersion = v
		case "to_version":
			r.ToVersion = v
		case "source":
			r.Source = v
		case "sha256":
			r.Hash = v
		case "reason":
			r.Reason = v
		case "failed_sha256":
			r.FailedHashes = strings.Fields(v)
		}
	}
	return r, nil
}

// String is the record in words, for the console and show system.
func (r Record) String() string {
	to := fmt.Sprintf("slot %s (%s)", r.To, r.ToVersion)
	from := fmt.Sprintf("slot %s (%s)", r.From, r.FromVersion)
	switch r.State {
	case None:
		return "none"
	case Writing:
		return "writing " + to + " was interrupted"
	case Staged:
		return to + " written, to be tried at the next boot"
	case Booted:
		return to + " on trial"
	case Good:
		return to + " from " + r.Source + ": good (was " + from + ")"
	case Failing:
		return to + " failed, going back to " + from + ": " + r.Reason
	case Failed:
		return to + " failed, back on " + from + ": " + r.Reason
	}
	return string(r.State)
}

// Disk is the mounted boot partition.
type Disk struct {
	Dir string
	// Reread, when set, is called after the files are written and before they are read
	// back for verification, so that the read comes from the device and not the page
	// cache (the init drops the caches).
	Reread func() error
}

func (d *Disk) path(name string) string { return filepath.Join(d.Dir, name) }

// Env reads grubenv.
func (d *Disk) Env() (grubenv.Env, error) {
	data, err := os.ReadFile(d.path(EnvName))
	if err != nil {
		return nil, err
	}
	return grubenv.Parse(data)
}

// setEnv changes variables in grubenv, rewriting the file in place: GRUB writes it through
// its block list, so it must keep its size and, best, its blocks.
func (d *Disk) setEnv(vars map[string]string) error {
	env, err := d.Env()
	if err != nil {
		return err
	}
	for k, v := range vars {
		env[k] = v
	}
	data, err := env.Encode()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(d.path(EnvName), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Committed is the slot GRUB boots when no trial is pending.
func (d *Disk) Committed() (Slot, error) {
	env, err := d.Env()
	if err != nil {
		return "", err
	}
	if env[EnvSlot] == string(B) {
		return B, nil
	}
	return A, nil
}

// Record reads the last upgrade's record (zero when there was none).
func (d *Disk) Record() (Record, error) {
	data, err := os.ReadFile(d.path(RecordName))
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, nil
	}
	if err != nil {
		return Record{}, err
	}
	return ParseRecord(data)
}

func (d *Disk) setRecord(r Record) error {
	return atomicfile.Write(d.path(RecordName), r.Encode())
}

// Version is the version installed in slot s ("" when the slot is empty or half written).
func (d *Disk) Version(s Slot) string {
	data, err := os.ReadFile(d.path(filepath.Join(string(s), VersionName)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// Role is what AtBoot tells the init to do.
type Role int

const (
	// Normal: the committed slot, nothing pending.
	Normal Role = iota
	// OnTrial: this slot is an update booted once; Confirm it once boxd has served, or
	// Fail it.
	OnTrial
	// RolledBack: the update in the other slot failed; the box is back on this one. The
	// record says why.
	RolledBack
)

// AtBoot looks at the record and the slot the kernel was booted from (pptpbox.slot on the
// command line) and moves the record on. It returns the role of this boot and the record
// after.
func (d *Disk) AtBoot(running Slot) (Role, Record, error) {
	r, err := d.Record()
	if err != nil {
		return Normal, r, err
	}
	committed, err := d.Committed()
	if err != nil {
		return Normal, r, err
	}
	switch {
	case running == r.To && running == committed && r.State == Booted:
		// Confirm committed the slot but was reset before it could rewrite the record.
		r.State = Good
		return Normal, r, d.setRecord(r)
	case running == r.To && running != committed && (r.State == Staged || r.State == Booted):
		// The one-shot boot of the update (Booted again: this init already started once
		// and the box reset before it decided; the try was cleared, so this boot came by
		// hand: go on with the trial).
		r.State = Booted
		return OnTrial, r, d.setRecord(r)
	case running != r.To && (r.State == Staged || r.State == Booted || r.State == Failing || r.State == Writing):
		switch r.State {
		case Staged:
			r.Reason = fmt.Sprintf("slot %s never reached its init (the kernel did not start, or panicked early)", r.To)
		case Booted:
			r.Reason = fmt.Sprintf("slot %s started but was not confirmed: it crashed or hung and the box was reset (watchdog or panic)", r.To)
		case Writing:
			r.Reason = fmt.Sprintf("writing slot %s was interrupted (power loss or reset)", r.To)
		}
		r.failed()
		// GRUB cleared the one-shot; clear it here too in case it could not.
		if err := d.setEnv(map[string]string{EnvTry: ""}); err != nil {
			return RolledBack, r, err
		}
		return RolledBack, r, d.setRecord(r)
	}
	return Normal, r, nil
}

// Confirm commits the running slot after its trial: GRUB boots it from now on.
func (d *Disk) Confirm(running Slot) (Record, error) {
	r, err := d.Record()
	if err != nil {
		return r, err
	}
	if r.State != Booted || r.To != running {
		return r, fmt.Errorf("slots: slot %s is not on trial (last upgrade: %s)", running, r.State)
	}
	if err := d.setEnv(map[string]string{EnvSlot: string(running), EnvTry: ""}); err != nil {
		return r, err
	}
	r.State = Good
	return r, d.setRecord(r)
}

// Fail records why the running slot failed its trial; the caller then reboots, and GRUB
// boots the committed (old) slot.
func (d *Disk) Fail(running Slot, reason string) (Record, error) {
	r, err := d.Record()
	if err != nil {
		return r, err
	}
	if r.State != Booted || r.To != running {
		return r, fmt.Errorf("slots: slot %s is not on trial (last upgrade: %s)", running, r.State)
	}
	r.State, r.Reason = Failing, reason
	r.remember()
	if err := d.setEnv(map[string]string{EnvTry: ""}); err != nil {
		return r, err
	}
	return r, d.setRecord(r)
}

// Skip says why an update offered at boot (the USB stick) is not installed: it is what
// runs, or it failed before. "" means install it.
func (d *Disk) Skip(u *update.Update, running Slot) string {
	if d.Version(running) == u.Version {
		return fmt.Sprintf("version %s is running already", u.Version)
	}
	if r, err := d.Record(); err == nil && slices.Contains(r.FailedHashes, u.Hash) {
		if r.Hash == u.Hash {
			return fmt.Sprintf("this update failed on an earlier boot (%s)", r.Reason)
		}
		return "this update failed on an earlier boot"
	}
	return ""
}

// Install writes a verified update into the slot that is not running, reads every file
// back and compares its hash, then sets the one-shot trial. The next boot tries it. It
// refuses while the running slot is itself on trial: the old slot is the way back.
func (d *Disk) Install(u *update.Update, running Slot, source string, progress func(string)) (Record, error) {
	committed, err := d.Committed()
	if err != nil {
		return Record{}, err
	}
	if committed != running {
		return Record{}, fmt.Errorf("slots: slot %s is on trial: it must be confirmed before another upgrade", running)
	}
	target := running.Other()
	prev, err := d.Record()
	if err != nil {
		return Record{}, err
	}
	r := Record{FailedHashes: prev.FailedHashes, State: Writing, From: running, To: target, FromVersion: d.Version(running), ToVersion: u.Version, Source: source, Hash: u.Hash}
	if err := d.setEnv(map[string]string{EnvTry: ""}); err != nil {
		return r, err
	}
	if err := d.setRecord(r); err != nil {
		return r, err
	}
	dir := d.path(string(target))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	// Without VERSION the slot is not whole; remove it first, write it last. The slot's
	// old files go too, before the new ones are written: they are no way back any more,
	// and the boot partition need not hold an old and a new kernel of one slot at once
	// (arm64 kernels are 32 MiB uncompressed). A device tree left from an older version
	// would otherwise be booted with this kernel.
	for _, name := range []string{VersionName, update.Kernel, update.Initramfs, update.DTB} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, err
		}
	}
	for _, f := range u.Files {
		progress(fmt.Sprintf("writing %s/%s (%d bytes)", target, f.Name, f.Size))
		if err := atomicfile.Write(filepath.Join(dir, f.Name), f.Data); err != nil {
			return r, err
		}
	}
	if d.Reread != nil {
		if err := d.Reread(); err != nil {
			return r, fmt.Errorf("slots: before reading back: %w", err)
		}
	}
	for _, f := range u.Files {
		sum, err := hashFile(filepath.Join(dir, f.Name))
		if err != nil {
			return r, err
		}
		if sum != f.SHA256 {
			return r, fmt.Errorf("slots: %s/%s reads back differently from what was written: the boot medium is failing", target, f.Name)
		}
	}
	progress(fmt.Sprintf("slot %s verified (SHA-256 read back)", target))
	if err := atomicfile.Write(filepath.Join(dir, VersionName), []byte(u.Version+"\n")); err != nil {
		return r, err
	}
	if err := d.setEnv(map[string]string{EnvTry: string(target)}); err != nil {
		return r, err
	}
	r.State = Staged
	return r, d.setRecord(r)
}

func hashFile(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
