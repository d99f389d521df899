package firmware

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsoleLines: the serial reader splits lines however the output is chunked, drops
// the CR of CRLF, and sees a prompt (the text after the last newline) only once it is
// there; the last line without a newline counts when the VM exits.
func TestConsoleLines(t *testing.T) {
	pr, pw := io.Pipe()
	c := newConsole(pr, nil)
	for _, chunk := range []string{"boot li", "ne 1\r\nline 2\n", "pptpbox> "} {
		if _, err := pw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	next, err := c.waitPrompt("pptpbox> ", 2, 5*time.Second)
	if err != nil || next != 2 {
		t.Fatalf("waitPrompt: %d, %v", next, err)
	}
	if _, err := c.waitPrompt("pptpbox> ", 3, 50*time.Millisecond); err == nil {
		t.Fatal("a prompt before line 3 counted as after it")
	}
	pw.Write([]byte("show sessions\r\nno sessions\r\n"))
	if _, err := c.waitPrompt("pptpbox> ", 4, 50*time.Millisecond); err == nil {
		t.Fatal("a prompt that was answered counted again")
	}
	m, next, err := c.waitFor(regexp.MustCompile(`^no (sessions)$`), 0, 5*time.Second)
	if err != nil || m[1] != "sessions" || next != 4 {
		t.Fatalf("waitFor: %q %d %v", m, next, err)
	}
	pw.Write([]byte("Reboot the box? [y/N] "))
	pw.Close()
	if _, _, err := c.waitFor(regexp.MustCompile(`^Reboot the box\? \[y/N\] $`), 4, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	got := strings.Join(c.lines, "|")
	c.mu.Unlock()
	if want := "boot line 1|line 2|pptpbox> show sessions|no sessions|Reboot the box? [y/N] "; got != want {
		t.Errorf("lines %q, want %q", got, want)
	}
}
