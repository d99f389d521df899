package pid1

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// testReaper is the test binary's one reaper: two would reap each other's children
// (wait4(-1)) and leave a service waiting forever for its exit status.
var testReaper = sync.OnceValue(newReaper)

// TestServiceExitReasonIsOwnRun: the reason a service's exit reports (what a trial prints)
// carries the last line of that run's output, never one left over from an earlier run: the
// second run here prints nothing.
func TestServiceExitReasonIsOwnRun(t *testing.T) {
	dir := t.TempDir()
	script := `if [ -e "$1/ran" ]; then exit 3; fi; touch "$1/ran"; echo "first run's last words"; exit 2`
	s := &service{
		name: "t", argv: []string{"/bin/sh", "-c", script, "sh", dir},
		log: io.Discard, r: testReaper(), lg: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stopped: make(chan struct{}), exits: make(chan exitReport, 8),
	}
	go s.run()
	defer s.stop(5 * time.Second)
	next := func() string {
		t.Helper()
		select {
		case ex := <-s.exits:
			return ex.why
		case <-time.After(20 * time.Second):
			t.Fatal("no exit reported")
			return ""
		}
	}
	if first := next(); !strings.Contains(first, "exit status 2") || !strings.HasSuffix(first, ": first run's last words") {
		t.Errorf("first exit: %q, want status 2 and the run's last line", first)
	}
	if second := next(); !strings.Contains(second, "exit status 3") || strings.Contains(second, "last words") {
		t.Errorf("second exit: %q, want status 3 and no line (the run printed none)", second)
	}
}
