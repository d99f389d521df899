package pid1

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// SaveLog keeps the last save as previous.log and the one before as
// previous.1.log, each ending with when and why.
func TestSaveLogRotates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log") // made by the first save
	t1 := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	if err := SaveLog(dir, []string{"init: boot one", "boxd: ready"}, "reboot", t1, MaxSavedLog); err != nil {
		t.Fatal(err)
	}
	want1 := "init: boot one\nboxd: ready\n--- log saved 2026-12-03T04:00:00Z: reboot\n"
	if got := readFile(t, filepath.Join(dir, PreviousLogName)); got != want1 {
		t.Fatalf("first save:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, OlderLogName)); err == nil {
		t.Fatal("previous.1.log after one save")
	}
	if err := SaveLog(dir, []string{"init: boot two"}, "boxd died: exit status 2", t1.Add(time.Hour), MaxSavedLog); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, PreviousLogName)); got != "init: boot two\n--- log saved 2026-12-03T05:00:00Z: boxd died: exit status 2\n" {
		t.Fatalf("second save:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, OlderLogName)); got != want1 {
		t.Fatalf("previous.1.log:\n%s", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("%d files in %s, want 2 (no temporary files left)", len(entries), dir)
	}
}

// A ring bigger than the bound keeps its last lines and says how many
// earlier ones it left out.
func TestSaveLogBounded(t *testing.T) {
	dir := t.TempDir()
	r := NewRing(2000)
	for i := range 2000 {
		fmt.Fprintf(r, "boxd: line %04d %s\n", i, strings.Repeat("x", MaxLine))
	}
	lines := r.Lines()
	if err := SaveLog(dir, lines, "poweroff", time.Now(), MaxSavedLog); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, filepath.Join(dir, PreviousLogName))
	if len(got) > MaxSavedLog {
		t.Fatalf("%d bytes, over %d", len(got), MaxSavedLog)
	}
	out := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	kept := len(out) - 2
	if !strings.HasPrefix(out[0], fmt.Sprintf("--- %d earlier lines left out", 2000-kept)) || kept < 200 {
		t.Fatalf("first line %q, %d lines kept", out[0], kept)
	}
	if out[len(out)-2] != lines[1999] || !strings.Contains(out[len(out)-1], ": poweroff") {
		t.Fatalf("last lines %q", out[len(out)-2:])
	}
}
