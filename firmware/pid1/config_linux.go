package pid1

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// findVolumes waits for the flash CONFIG partition and for the USB bus to settle (usbSettle:
// a stick is looked for once it has had the time to become a disk).
func (b *box) findVolumes() (flash, usb string) {
	start := time.Now()
	flashDeadline := start.Add(8 * time.Second)
	u := newUSBSettle()
	for {
		flash, usb = "", ""
		for _, v := range scanFAT() {
			switch {
			case v.Label == "PPTPBOX" && usb == "":
				usb = v.Dev
			case v.Label == "CONFIG" && !v.USB && flash == "":
				flash = v.Dev
			}
		}
		now := time.Now()
		snap := usbSnapshot()
		settled, why := u.Observe(now, snap)
		if why != "" {
			b.lg.Warn(why)
		}
		if settled && (flash != "" || now.After(flashDeadline)) {
			if snap.Controllers > 0 {
				b.lg.Info("usb settled", "after", u.Elapsed(now).Round(100*time.Millisecond), "devices", len(snap.Devices),
					"disks", strings.Join(snap.Disks, " "), "stick", usb)
			}
			return flash, usb
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *box) selectConfig() {
	flashDev, usbDev := b.findVolumes()
	var flash, lastGood, usb *Candidate
	if flashDev != "" {
		if err := unix.Mount(flashDev, flashMount, "vfat", unix.MS_NOATIME|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "flush"); err != nil {
			b.lg.Error("config partition", "dev", flashDev, "err", err)
		} else {
			b.flashDev = flashDev
			var note string
			flash, note = ReadFlash(flashMount)
			if note != "" {
				b.lg.Warn(note)
			}
			lastGood = ReadCandidate(SourceLastGood, filepath.Join(flashMount, LastGoodName))
		}
	} else {
		b.lg.Warn("no CONFIG partition found; changes cannot be saved")
	}
	if usbDev != "" {
		if err := unix.Mount(usbDev, usbMount, "vfat", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			b.lg.Error("USB stick", "dev", usbDev, "err", err)
		} else {
			b.usbDev = usbDev
			usb = ReadCandidate(SourceUSB, filepath.Join(usbMount, ConfigName))
			if usb == nil {
				b.lg.Warn("USB stick labelled PPTPBOX has no " + ConfigName)
			}
		}
	}
	def := ReadCandidate(SourceDefault, defaultConfig)
	if def == nil || def.Err != nil {
		b.lg.Error("embedded default config missing", "path", defaultConfig)
		def = &Candidate{Source: SourceDefault, Path: defaultConfig}
	}
	b.def = def
	// A config that failed its trial on an earlier boot is not tried again until edited.
	var failedHash, failedReason string
	if b.flashDev != "" {
		if f := ReadCandidate(SourceFlash, filepath.Join(flashMount, FailedName)); f != nil && f.Err == nil {
			failedHash, failedReason, _ = ParseFailed(f.Data)
		}
	}
	validate := func(c *Candidate) error {
		if failedHash != "" && ConfigHash(c.Data) == failedHash {
			return fmt.Errorf("boxd failed with this file on an earlier boot (%s); edit it to try it again", failedReason)
		}
		if _, err := os.Stat(boxdPath); err != nil {
			return fmt.Errorf("cannot validate: %w", err)
		}
		return b.validate(c)
	}
	d := Select(usb, flash, lastGood, def, validate)
	b.mu.Lock()
	b.decision = d
	b.mu.Unlock()
	for _, e := range d.Errors {
		b.printBanner(e)
	}
	if d.WriteFlash && b.flashDev != "" {
		if err := WriteFileAtomic(flashMount, ConfigName, d.Use.Data); err != nil {
			b.lg.Error("copy USB config to flash", "err", err)
		}
	}
	for _, n := range d.Notes {
		b.lg.Info(n)
	}
	b.installConfig(d.Use)
}

// installConfig writes the config boxd runs with to /run.
func (b *box) installConfig(c *Candidate) {
	b.lg.Info("config", "source", c.Source, "file", c.Path)
	os.MkdirAll(filepath.Dir(runConfig), 0o700)
	if err := os.WriteFile(runConfig, c.Data, 0o600); err != nil {
		b.lg.Error("config", "err", err)
	}
}

// validate runs `boxd check` through the reaper (os/exec's Wait would race with it).
func (b *box) validate(c *Candidate) error {
	dir, err := os.MkdirTemp("/run", "check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, c.Source.String()+"-"+filepath.Base(c.Path))
	if err := os.WriteFile(f, c.Data, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// -on-box: the ports have their role names by now, so a config naming a port the board
	// does not have is rejected here rather than failing in boxd at every start.
	// -ports: a board port whose card is missing is no reason to reject a config (boxd
	// serves without it); any other interface the file names must be here.
	argv := []string{boxdPath, "check", "-on-box"}
	if b.board != nil {
		var names []string
		for _, n := range b.board.NICs {
			names = append(names, n.Name)
		}
		argv = append(argv, "-ports", strings.Join(names, ","))
	}
	out, err := b.r.output(ctx, append(argv, f))
	if err != nil {
		msg := strings.TrimSpace(strings.ReplaceAll(string(out), f, c.Path))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}
