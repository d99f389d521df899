package slots

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/firmware/grubenv"
	"github.com/pptpbox/pptpbox/firmware/update"
)

// newDisk makes a boot partition as mkfirmware does: slot A holding vA, grubenv committing A.
func newDisk(t *testing.T) *Disk {
	t.Helper()
	d := &Disk{Dir: t.TempDir()}
	for _, dir := range []string{"grub", "A", "B"} {
		os.MkdirAll(filepath.Join(d.Dir, dir), 0o755)
	}
	env, _ := grubenv.Env{EnvSlot: "A"}.Encode()
	os.WriteFile(filepath.Join(d.Dir, EnvName), env, 0o644)
	os.WriteFile(filepath.Join(d.Dir, "A", "vmlinuz"), []byte("kernel A"), 0o644)
	os.WriteFile(filepath.Join(d.Dir, "A", VersionName), []byte("vA\n"), 0o644)
	return d
}

// grub does what grub.cfg does (firmware/image): the one-shot trial if set (cleared on
// disk first), else the committed slot.
func grub(t *testing.T, d *Disk) Slot {
	t.Helper()
	env, err := d.Env()
	if err != nil {
		t.Fatal(err)
	}
	slot := A
	if env[EnvSlot] == "B" {
		slot = B
	}
	if try := env[EnvTry]; try != "" {
		if err := d.setEnv(map[string]string{EnvTry: ""}); err != nil {
			t.Fatal(err)
		}
		slot = Slot(try)
	}
	return slot
}

func newUpdate(t *testing.T, version string) *update.Update {
	t.Helper()
	k := []byte("kernel " + version)
	i := []byte("initramfs " + version)
	u := &update.Update{Header: update.Header{Board: "b", Version: version}, Hash: "hash-" + version}
	for name, data := range map[string][]byte{update.Kernel: k, update.Initramfs: i} {
		u.Files = append(u.Files, update.File{Name: name, Size: int64(len(data)), Data: data, SHA256: sha256.Sum256(data)})
	}
	return u
}

func boot(t *testing.T, d *Disk, want Slot, wantRole Role) Record {
	t.Helper()
	s := grub(t, d)
	if s != want {
		t.Fatalf("GRUB booted slot %s, want %s", s, want)
	}
	role, r, err := d.AtBoot(s)
	if err != nil {
		t.Fatal(err)
	}
	if role != wantRole {
		t.Fatalf("slot %s: role %d, want %d (record %+v)", s, role, wantRole, r)
	}
	return r
}

func TestUpgradeGood(t *testing.T) {
	d := newDisk(t)
	boot(t, d, A, Normal)
	r, err := d.Install(newUpdate(t, "vB"), A, "usb", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != Staged || r.To != B || d.Version(B) != "vB" {
		t.Fatalf("after install: %+v, B has %q", r, d.Version(B))
	}
	boot(t, d, B, OnTrial)
	if _, err := d.Install(newUpdate(t, "vC"), B, "usb", func(string) {}); err == nil || !strings.Contains(err.Error(), "on trial") {
		t.Fatalf("install while on trial: %v", err)
	}
	r, err = d.Confirm(B)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != Good || r.String() != "slot B (vB) from usb: good (was slot A (vA))" {
		t.Fatalf("confirmed: %q", r)
	}
	boot(t, d, B, Normal)
	boot(t, d, B, Normal)
	// The next update goes to A, the slot not running.
	if r, err = d.Install(newUpdate(t, "vC"), B, "console", func(string) {}); err != nil || r.To != A {
		t.Fatalf("second install: %+v %v", r, err)
	}
	boot(t, d, A, OnTrial)
}

func TestUpgradeFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		crash  func(t *testing.T, d *Disk) // what happens to the trial boot
		reason string
	}{
		{"kernel panic", func(t *testing.T, d *Disk) {
			if s := grub(t, d); s != B {
				t.Fatalf("booted %s", s)
			} // and never reaches AtBoot
		}, "slot B never reached its init"},
		{"hang", func(t *testing.T, d *Disk) { boot(t, d, B, OnTrial) }, "crashed or hung"},
		{"check failed", func(t *testing.T, d *Disk) {
			boot(t, d, B, OnTrial)
			if _, err := d.Fail(B, "boxd exited 3 times"); err != nil {
				t.Fatal(err)
			}
		}, "boxd exited 3 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDisk(t)
			u := newUpdate(t, "vB")
			if _, err := d.Install(u, A, "usb", func(string) {}); err != nil {
				t.Fatal(err)
			}
			tc.crash(t, d)
			r := boot(t, d, A, RolledBack)
			if r.State != Failed || !strings.Contains(r.Reason, tc.reason) || !strings.HasPrefix(r.String(), "slot B (vB) failed, back on slot A (vA): ") {
				t.Fatalf("record %+v: %s", r, r)
			}
			// Said once; then the box is normal again on A.
			boot(t, d, A, Normal)
			if why := d.Skip(u, A); !strings.Contains(why, "failed on an earlier boot") {
				t.Errorf("the failed update is offered again: %q", why)
			}
			if why := d.Skip(newUpdate(t, "vA"), A); !strings.Contains(why, "running already") {
				t.Errorf("the running version is offered again: %q", why)
			}
			if why := d.Skip(newUpdate(t, "vC"), A); why != "" {
				t.Errorf("a new update skipped: %q", why)
			}
			// A later upgrade (good or not) does not make the failed one new again.
			if _, err := d.Install(newUpdate(t, "vC"), A, "console", func(string) {}); err != nil {
				t.Fatal(err)
			}
			boot(t, d, B, OnTrial)
			d.Confirm(B)
			if why := d.Skip(u, B); !strings.Contains(why, "failed on an earlier boot") {
				t.Errorf("after another upgrade, the failed update is offered again: %q", why)
			}
		})
	}
}

// TestInstallVerifies: a write that reads back differently (a failing medium) is not staged.
func TestInstallVerifies(t *testing.T) {
	d := newDisk(t)
	d.Reread = func() error {
		return os.WriteFile(filepath.Join(d.Dir, "B", update.Initramfs), []byte("bit rot"), 0o644)
	}
	r, err := d.Install(newUpdate(t, "vB"), A, "usb", func(string) {})
	if err == nil || !strings.Contains(err.Error(), "B/initrd.zst reads back differently") {
		t.Fatalf("install: %v", err)
	}
	if d.Version(B) != "" {
		t.Error("a slot that failed verification has a VERSION")
	}
	if env, _ := d.Env(); env[EnvTry] != "" {
		t.Errorf("trial set after a failed write: %q", env)
	}
	// An interrupted write is reported at the next boot.
	if r.State != Writing {
		t.Fatalf("record %+v", r)
	}
	d.setRecord(r)
	got := boot(t, d, A, RolledBack)
	if !strings.Contains(got.Reason, "interrupted") {
		t.Errorf("reason %q", got.Reason)
	}
}

// TestConfirmInterrupted: a reset between committing the slot and rewriting the record.
func TestConfirmInterrupted(t *testing.T) {
	d := newDisk(t)
	if _, err := d.Install(newUpdate(t, "vB"), A, "usb", func(string) {}); err != nil {
		t.Fatal(err)
	}
	boot(t, d, B, OnTrial)
	d.setEnv(map[string]string{EnvSlot: "B"}) // Confirm's first step only
	if r := boot(t, d, B, Normal); r.State != Good {
		t.Fatalf("record %+v", r)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := Record{State: Failed, From: A, To: B, FromVersion: "v1", ToVersion: "v2", Source: "usb", Hash: "ab", Reason: "boxd exited\n3 times",
		FailedHashes: []string{"01", "ab"}}
	got, err := ParseRecord(r.Encode())
	if err != nil {
		t.Fatal(err)
	}
	r.Reason = "boxd exited 3 times"
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("%+v", got)
	}
	if _, err := ParseRecord([]byte("to=C\n")); err == nil {
		t.Error("slot C parsed")
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add(Record{State: Booted, From: A, To: B, ToVersion: "v2", Reason: "x"}.Encode())
	f.Add([]byte("state=good\nfrom=B\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord(data)
		if err != nil {
			return
		}
		// Encode normalises white space; a second round trip is exact.
		r2, err := ParseRecord(r.Encode())
		if err != nil {
			t.Fatal(err)
		}
		r3, _ := ParseRecord(r2.Encode())
		if !reflect.DeepEqual(r2, r3) {
			t.Fatalf("%+v != %+v", r2, r3)
		}
	})
}
