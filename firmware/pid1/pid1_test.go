package pid1

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
)

func TestCmdline(t *testing.T) {
	c := ParseCmdline(`console=ttyS0,115200n8 quiet pptpbox.debug=1 pptpbox.test=0 usb-storage.delay_use=0 usb_storage.quirks="a b" x="y z"` + "\n")
	tests := []struct {
		key  string
		val  string
		ok   bool
		flag bool
	}{
		{"console", "ttyS0,115200n8", true, true},
		{"quiet", "", true, true},
		{"pptpbox.debug", "1", true, true},
		{"pptpbox.test", "0", true, false},
		{"x", "y z", true, true},
		{"missing", "", false, false},
	}
	for _, tt := range tests {
		v, ok := c.Value(tt.key)
		if v != tt.val || ok != tt.ok || c.Flag(tt.key) != tt.flag {
			t.Errorf("%s: got %q %v flag %v", tt.key, v, ok, c.Flag(tt.key))
		}
	}
	if got := c.ModuleParams("usb_storage"); got != "delay_use=0 quirks=a b" {
		t.Errorf("ModuleParams = %q", got)
	}
	if got := c.ModuleParams("virtio_net"); got != "" {
		t.Errorf("ModuleParams(virtio_net) = %q", got)
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add(`console=ttyS0 "quoted arg" a.b=c`)
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseCmdline(s)
		// Re-joining the arguments (quoted) must parse to the same arguments.
		var parts []string
		for _, a := range c.args {
			if strings.ContainsAny(a, "\"") {
				return
			}
			parts = append(parts, `"`+a+`"`)
		}
		c2 := ParseCmdline(strings.Join(parts, " "))
		if !reflect.DeepEqual(c.args, c2.args) {
			t.Fatalf("%q: %q then %q", s, c.args, c2.args)
		}
	})
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 8 * time.Second, Stable: time.Minute}
	steps := []struct {
		ran  time.Duration
		want time.Duration
	}{
		{0, time.Second}, {0, 2 * time.Second}, {time.Second, 4 * time.Second}, {0, 8 * time.Second},
		{0, 8 * time.Second}, {2 * time.Minute, time.Second}, {0, 2 * time.Second},
	}
	for i, s := range steps {
		if got := b.Next(s.ran); got != s.want {
			t.Fatalf("step %d: got %v, want %v", i, got, s.want)
		}
	}
}

func TestRing(t *testing.T) {
	r := NewRing(3)
	var tee bytes.Buffer
	r.Tee = &tee
	r.Write([]byte("one\ntw"))
	r.Write([]byte("o\nthree\nfour\n"))
	if got := r.Lines(); !reflect.DeepEqual(got, []string{"two", "three", "four"}) {
		t.Errorf("Lines = %q", got)
	}
	if tee.String() != "one\ntwo\nthree\nfour\n" {
		t.Errorf("tee = %q", tee.String())
	}
	r.Write(bytes.Repeat([]byte("x"), MaxLine+10))
	if l := r.Lines(); len(l[2]) != MaxLine {
		t.Errorf("long line kept %d bytes", len(l[2]))
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	w := &PrefixWriter{Prefix: "boxd: ", W: &out}
	w.Write([]byte("a\nb"))
	w.Write([]byte("c\n"))
	if out.String() != "boxd: a\nboxd: bc\n" {
		t.Errorf("got %q", out.String())
	}
}

func cand(src Source, data string) *Candidate {
	return &Candidate{Source: src, Path: src.String() + ".toml", Data: []byte(data)}
}

func TestSelect(t *testing.T) {
	// "bad" configs fail validation, anything else passes.
	validate := func(c *Candidate) error {
		if strings.Contains(string(c.Data), "bad") {
			return errors.New(c.Path + ":3: pptp.mtu: bad")
		}
		return nil
	}
	def := cand(SourceDefault, "default")
	tests := []struct {
		name                 string
		usb, flash, lastGood *Candidate
		want                 Source
		writeFlash, writeLG  bool
		nErrors              int
	}{
		{"nothing: default", nil, nil, nil, SourceDefault, false, false, 0},
		{"flash", nil, cand(SourceFlash, "a"), nil, SourceFlash, false, true, 0},
		{"flash same as last good", nil, cand(SourceFlash, "a"), cand(SourceLastGood, "a"), SourceFlash, false, false, 0},
		{"usb beats flash, copied", cand(SourceUSB, "u"), cand(SourceFlash, "a"), cand(SourceLastGood, "a"), SourceUSB, true, true, 0},
		{"usb equal to flash: no copy", cand(SourceUSB, "a"), cand(SourceFlash, "a"), cand(SourceLastGood, "a"), SourceUSB, false, false, 0},
		{"bad usb: flash", cand(SourceUSB, "bad"), cand(SourceFlash, "a"), cand(SourceLastGood, "a"), SourceFlash, false, false, 1},
		{"bad flash: last good", nil, cand(SourceFlash, "bad"), cand(SourceLastGood, "a"), SourceLastGood, false, false, 1},
		{"bad flash, bad last good: default", nil, cand(SourceFlash, "bad"), cand(SourceLastGood, "bad"), SourceDefault, false, false, 2},
		{"bad usb and flash, no last good", cand(SourceUSB, "bad"), cand(SourceFlash, "bad"), nil, SourceDefault, false, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Select(tt.usb, tt.flash, tt.lastGood, def, validate)
			if d.Use.Source != tt.want || d.WriteFlash != tt.writeFlash || d.WriteLastGood != tt.writeLG || len(d.Errors) != tt.nErrors {
				t.Fatalf("got %v flash=%v lastgood=%v errors=%q", d.Use.Source, d.WriteFlash, d.WriteLastGood, d.Errors)
			}
			for _, e := range d.Errors {
				if !strings.Contains(e, ":3: pptp.mtu") {
					t.Errorf("error lost its location: %q", e)
				}
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	for _, data := range []string{"first", "second"} {
		if err := WriteFileAtomic(dir, ConfigName, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(dir, ConfigName))
		if string(got) != data {
			t.Fatalf("got %q", got)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing"), ConfigName, nil); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestReadConsoleSettings(t *testing.T) {
	h := "$2a$10$abcdefghijklmnopqrstuuQzN1m2g5Xw3p6rBQ3yqZ8H3hGk1z3yW"
	got := ReadConsoleSettings([]byte("[pptp]\nenabled = true\n[console]\ndebug_shell = true\npassword_hash = \"" + h + "\"\n"))
	if !got.DebugShell || got.PasswordHash != h {
		t.Errorf("got %+v", got)
	}
	if got := ReadConsoleSettings([]byte("[console\npassword_hash = 1")); got != (ConsoleSettings{}) {
		t.Errorf("unparsable: %+v", got)
	}
}

// TestEmbeddedDefaultValid: the default the box falls back to must always be accepted by
// the daemon's config loader (it is what `boxd check` runs).
func TestEmbeddedDefaultValid(t *testing.T) {
	c, err := config.Load("../../rootfs/etc/pptpbox/default.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Users) != 0 {
		t.Errorf("the default config must have no users, has %d", len(c.Users))
	}
	if !c.PPTP.Enabled {
		t.Error("PPTP must be on in the default config")
	}
	// A fresh box is a router: WAN by DHCP, LAN with a static address and a DHCP server
	// whose leases live on the CONFIG partition (flashMount), masquerade out of the WAN.
	if !c.RouterEnabled() {
		t.Error("the default config must turn the router on ([wan], [lan], [nat])")
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"wan.interface", c.WAN.Interface, "wan"},
		{"wan.mode", c.WAN.Mode, "dhcp"},
		{"lan.enabled", c.LAN.Enabled, true},
		{"lan.interface", c.LAN.Interface, "lan"},
		{"lan.address", c.LAN.Address, "192.168.1.1/24"},
		{"lan.dhcp.enabled", c.LAN.DHCP.Enabled, true},
		{"lan.dhcp.range", c.LAN.DHCP.Range, "192.168.1.100-199"},
		{"lan.dhcp.lease_file dir", filepath.Dir(c.LAN.DHCP.LeaseFile), "/config"},
		{"nat.masquerade (empty: pool and LAN)", len(c.NAT.Masquerade), 0},
		{"console.debug_shell", c.Console.DebugShell, false},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("default %s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

func TestDebugShellRequested(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"[console]\ndebug_shell = true\n", true},
		{"[console]\ndebug_shell = false\n", false},
		{"[pptp]\nenabled = true\n", false},
		{"[console\n", false},
		{"[console]\ndebug_shell = \"yes\"\n", false},
	}
	for _, tt := range tests {
		if got := DebugShellRequested([]byte(tt.in)); got != tt.want {
			t.Errorf("%q: got %v", tt.in, got)
		}
	}
}

func TestWANChange(t *testing.T) {
	tests := []struct {
		last, cur string
		want      string
		ok        bool
	}{
		{"eth0:none", "eth0:none", "", false},
		{"eth0:203.0.113.2/24", "eth0:203.0.113.2/24", "", false},
		{"eth0:none", "eth0:203.0.113.2/24", "pptpbox wan=eth0:203.0.113.2/24 was=eth0:none uptime=12.5s\n", true},
		{"eth0:203.0.113.2/24", "eth0:none", "pptpbox wan=eth0:none was=eth0:203.0.113.2/24 uptime=12.5s\n", true},
		{"eth0:203.0.113.2/24", "eth0:203.0.113.9/24", "pptpbox wan=eth0:203.0.113.9/24 was=eth0:203.0.113.2/24 uptime=12.5s\n", true},
	}
	for _, tc := range tests {
		got, ok := wanChange(tc.last, tc.cur, 12.5)
		if got != tc.want || ok != tc.ok {
			t.Errorf("wanChange(%q, %q) = %q, %v; want %q, %v", tc.last, tc.cur, got, ok, tc.want, tc.ok)
		}
	}
}

// TestReadFlash: an interrupted commit confirmed (pending marker) makes the rollback point
// the flash candidate; without a rollback point, or without the marker, pptpbox.toml is.
func TestReadFlash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if c, note := ReadFlash(dir); c != nil || note != "" {
		t.Fatalf("empty dir: %v %q", c, note)
	}
	write(ConfigName, "committed")
	write(ConfigName+".prev", "before")
	c, note := ReadFlash(dir)
	if string(c.Data) != "committed" || note != "" || c.Source != SourceFlash {
		t.Fatalf("no marker: %q %q", c.Data, note)
	}
	write(ConfigName+".pending", `{"revert_at":"2026-12-03T04:00:00Z"}`)
	c, note = ReadFlash(dir)
	if string(c.Data) != "before" || c.Path != filepath.Join(dir, ConfigName+".prev") || !strings.Contains(note, "never confirmed") {
		t.Fatalf("marker: %q %s %q", c.Data, c.Path, note)
	}
	// Select then tries the rollback point as the flash config, and its trial promotes that.
	d := Select(nil, c, &Candidate{Source: SourceLastGood, Path: "lg", Data: []byte("older")}, &Candidate{Source: SourceDefault}, func(*Candidate) error { return nil })
	if string(d.Use.Data) != "before" || !d.WriteLastGood {
		t.Fatalf("decision %+v", d)
	}
	os.Remove(filepath.Join(dir, ConfigName+".prev"))
	c, note = ReadFlash(dir)
	if string(c.Data) != "committed" || !strings.Contains(note, "no rollback point") {
		t.Fatalf("marker, no prev: %q %q", c.Data, note)
	}
}
