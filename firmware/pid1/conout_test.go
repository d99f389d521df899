package pid1

import (
	"bytes"
	"strings"
	"testing"
)

func TestImportant(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{`init: t=1.20s level=INFO msg="service started" service=boxd pid=120`, false},
		{`init: t=9.01s level=WARN msg="service died, restarting" service=boxd`, true},
		{`boxd: time=2026-12-03T04:00:00Z level=ERROR msg="radius: timeout"`, true},
		{`boxd: time=2026-12-03T04:00:00Z level=WARN+2 msg=x`, true},
		{`boxd: time=2026-12-03T04:00:00Z level=DEBUG msg="level=ERROR in text"`, false},
		{`boxd: time=2026-12-03T04:00:00Z level=INFO msg="x" err="level=WARN"`, false},
		{`boxd: panic: runtime error`, false},
		{`init: t=1s xlevel=ERROR`, false},
	} {
		if got := Important([]byte(tc.line)); got != tc.want {
			t.Errorf("Important(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

// TestConOut: every line shows until the first prompt; then only warnings and above (and
// notices), every line again while a command shows all; a sink (the prompt's terminal)
// gets the lines instead of the device; raw mode writes CR LF.
func TestConOut(t *testing.T) {
	var dev, term bytes.Buffer
	c := &conOut{raw: &dev}
	log := c.logWriter()
	info := "init: level=INFO msg=boot\n"
	warn := "init: level=WARN msg=careful\n"
	log.Write([]byte(info))
	if dev.String() != info {
		t.Fatalf("before the prompt: %q", dev.String())
	}
	dev.Reset()
	c.setSink(&term)
	log.Write([]byte(info))
	log.Write([]byte(warn))
	c.Write([]byte("pptpbox ready\n"))
	if dev.Len() != 0 || term.String() != warn+"pptpbox ready\n" {
		t.Fatalf("at the prompt: device %q terminal %q", dev.String(), term.String())
	}
	term.Reset()
	done := c.showAll()
	log.Write([]byte(info))
	done()
	done() // twice is once
	log.Write([]byte(info))
	if term.String() != info {
		t.Fatalf("log follow: %q", term.String())
	}
	c.setSink(nil)
	c.setRaw(true)
	log.Write([]byte(info))
	log.Write([]byte(warn))
	if got := dev.String(); got != strings.ReplaceAll(warn, "\n", "\r\n") {
		t.Fatalf("between prompts, raw tty: %q", got)
	}
	c.showAll()
	c.showAll()()
	log.Write([]byte(info))
	if !strings.Contains(dev.String(), "boot") {
		t.Fatalf("a second showAll still running: %q", dev.String())
	}
}

// FuzzImportant: whatever a service writes, the console filter does not panic, and a line
// it shows at the prompt has a level field of WARN or ERROR.
func FuzzImportant(f *testing.F) {
	f.Add([]byte(`boxd: time=2026-12-03T04:00:00Z level=WARN msg="x"`))
	f.Add([]byte(`init: t=1.2s level=INFO msg="level=ERROR"`))
	f.Add([]byte(`level=`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if Important(line) && !bytes.Contains(line, []byte("level=WARN")) && !bytes.Contains(line, []byte("level=ERROR")) {
			t.Fatalf("shown without a WARN/ERROR level: %q", line)
		}
	})
}
