package pid1

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/config"
)

// FuzzConfigAtBoot feeds arbitrary bytes as the USB stick's and the flash partition's
// pptpbox.toml through what the init does with them: ReadCandidate (the size cap), Select
// with the validation `boxd check -on-box` runs (config.Parse, then the interfaces the board
// has: wan, lan), and DebugShellRequested on the result. Whatever the bytes: no panic, the
// config used is one that validates (or the embedded default), it is the bytes read, a valid
// USB config wins, every rejected file has one console error, and a trial has a fallback.
// An empty input stands for a missing file.
func FuzzConfigAtBoot(f *testing.F) {
	def, err := os.ReadFile("../../rootfs/etc/pptpbox/default.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def, []byte(nil))
	f.Add([]byte("[wan]\ninterface = \"eth0\"\nmode = \"dhcp\"\n"), def)
	f.Add([]byte("[console]\ndebug_shell = true\n[[user]]\nname = \"a\"\npassword = \"b\"\n"), []byte("[pptp.bogus]\nkey = 1\n"))
	f.Fuzz(func(t *testing.T, usbData, flashData []byte) {
		dir := t.TempDir()
		read := func(src Source, data []byte) *Candidate {
			if len(data) == 0 {
				return nil
			}
			p := filepath.Join(dir, src.String()+".toml")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			c := ReadCandidate(src, p)
			if c == nil || c.Err != nil || !bytes.Equal(c.Data, data) {
				t.Fatalf("ReadCandidate of %d bytes: %+v", len(data), c)
			}
			return c
		}
		usb, flash := read(SourceUSB, usbData), read(SourceFlash, flashData)
		defC := &Candidate{Source: SourceDefault, Path: "default.toml", Data: def}
		validate := func(c *Candidate) error {
			cfg, err := config.Parse(c.Path, c.Data)
			if err != nil {
				return err
			}
			return cfg.CheckInterfaces(func(n string) bool { return n == "wan" || n == "lan" })
		}
		d := Select(usb, flash, nil, defC, validate)
		if d.Use == nil {
			t.Fatal("no config")
		}
		rejected := 0
		for _, c := range []*Candidate{usb, flash} {
			if c != nil && validate(c) != nil {
				rejected++
			}
		}
		switch {
		case usb != nil && validate(usb) == nil:
			if d.Use != usb {
				t.Fatalf("a valid USB config lost to %v", d.Use.Source)
			}
			rejected = 0 // nothing after it is looked at
		case d.Use.Source != SourceDefault && validate(d.Use) != nil:
			t.Fatalf("running %v, which fails validation", d.Use.Source)
		}
		if len(d.Errors) != rejected {
			t.Fatalf("%d console errors %q for %d rejected files", len(d.Errors), d.Errors, rejected)
		}
		if d.WriteLastGood && d.Fallback == nil {
			t.Fatal("a trial without a fallback")
		}
		DebugShellRequested(d.Use.Data)
	})
}
