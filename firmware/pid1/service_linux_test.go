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

// TestServiceStopsOnUnfixable: a service that exits with ExitUnfixable is not started again:
// its exit report says the policy gave up, status says so, the restart count stays 0, and
// lastExit is its status and last line.
func TestServiceStopsOnUnfixable(t *testing.T) {
	s := &service{
		name: "t", argv: []string{"/bin/sh", "-c", "echo 'config: no such key'; exit 78"},
		log: io.Discard, r: testReaper(), lg: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stopped: make(chan struct{}), exits: make(chan exitReport, 8),
	}
	gaveUp := make(chan string, 1)
	s.onGiveUp = func(r string) { gaveUp <- r }
	go s.run()
	defer s.stop(5 * time.Second)
	select {
	case ex := <-s.exits:
		if !strings.Contains(ex.gaveUp, "cannot fix") || !strings.Contains(ex.why, "config: no such key") {
			t.Fatalf("exit report %+v", ex)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit reported")
	}
	select {
	case <-gaveUp:
	case <-time.After(5 * time.Second):
		t.Fatal("onGiveUp not called")
	}
	select {
	case <-s.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the service loop did not end")
	}
	if st := s.status(); !strings.Contains(st, "stopped, not restarted (restarts 0)") || !strings.Contains(st, "`restart` tries again") {
		t.Errorf("status %q", st)
	}
	// What an upgrade trial records as the reason: the exit status and the last line.
	if got, want := s.lastExit(), "exit status 78: config: no such key"; got != want {
		t.Errorf("lastExit %q, want %q", got, want)
	}
}
