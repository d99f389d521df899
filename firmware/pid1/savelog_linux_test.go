package pid1

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The box saves at most MaxDeathSaves boxd deaths a boot; a reboot is
// always saved, and nothing is written without a CONFIG partition.
func TestBoxSaveLogLimitsDeaths(t *testing.T) {
	dir := t.TempDir()
	b := &box{ring: NewRing(10), lg: discardLogger(), logDir: dir}
	b.saveLog("reboot", false)
	if _, err := os.Stat(filepath.Join(dir, PreviousLogName)); err == nil {
		t.Fatal("saved without a CONFIG partition")
	}
	b.flashDev = "/dev/vda3"
	for i := 1; i <= MaxDeathSaves+2; i++ {
		fmt.Fprintf(b.ring, "boxd: run %d\n", i)
		b.saveLog(fmt.Sprintf("boxd died: run %d", i), true)
	}
	if got := readFile(t, filepath.Join(dir, PreviousLogName)); !strings.Contains(got, fmt.Sprintf(": boxd died: run %d\n", MaxDeathSaves)) {
		t.Fatalf("after %d deaths:\n%s", MaxDeathSaves+2, got)
	}
	b.saveLog("reboot\nnow", false)
	got := readFile(t, filepath.Join(dir, PreviousLogName))
	if !strings.HasSuffix(got, ": reboot now\n") || !strings.Contains(got, fmt.Sprintf("boxd: run %d\n", MaxDeathSaves+2)) {
		t.Fatalf("the reboot's save:\n%s", got)
	}
}

// A service's died hook runs once the dead run's output is in the log (so
// the saved log has boxd's last words), and not when the service is
// stopped.
func TestServiceDiedSeesLastWords(t *testing.T) {
	ring := NewRing(100)
	seen := make(chan []string, 4)
	whys := make(chan string, 4)
	s := &service{
		name: "t", argv: []string{"/bin/sh", "-c", `echo "panic: last words"; exit 4`},
		log: &PrefixWriter{Prefix: "boxd: ", W: ring}, r: testReaper(), lg: discardLogger(),
		stopped: make(chan struct{}),
		died:    func(why string) { seen <- ring.Lines(); whys <- why },
	}
	go s.run()
	select {
	case lines := <-seen:
		if len(lines) == 0 || lines[len(lines)-1] != "boxd: panic: last words" {
			t.Errorf("the log when died ran: %q", lines)
		}
		if why := <-whys; !strings.Contains(why, "exit status 4") {
			t.Errorf("why %q", why)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("died never ran")
	}
	s.stop(5 * time.Second)
}
