package pid1

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTrial drives the trial of a new config through its paths with a fake clock: promotion
// needs Hold of continuous readiness; MaxFails exits or no stable service by
// ReadyWithin + Hold roll back, with a reason that carries boxd's last words.
func TestTrial(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type ev struct {
		at    float64
		ready bool
		exit  string // non-empty: boxd exited
		want  TrialState
	}
	tests := []struct {
		name   string
		events []ev
		reason string // substring of Reason when rolled back
	}{
		{"serving for the hold time: promoted", []ev{
			{at: 1, want: TrialTrying}, {at: 2, ready: true, want: TrialTrying},
			{at: 6.9, ready: true, want: TrialTrying}, {at: 7, ready: true, want: TrialPromoted},
			{at: 8, exit: "exit status 1", want: TrialPromoted}, // later deaths are the supervisor's business
		}, ""},
		{"a break in readiness restarts the hold", []ev{
			{at: 1, ready: true, want: TrialTrying}, {at: 5, ready: false, want: TrialTrying},
			{at: 6, ready: true, want: TrialTrying}, {at: 10, ready: true, want: TrialTrying},
			{at: 11, ready: true, want: TrialPromoted},
		}, ""},
		{"an exit restarts the hold; two exits are tolerated", []ev{
			{at: 1, ready: true, want: TrialTrying},
			{at: 5, exit: "exit status 2", want: TrialTrying},
			{at: 5.5, ready: true, want: TrialTrying},
			{at: 6, exit: "exit status 2", want: TrialTrying},
			{at: 7, ready: true, want: TrialTrying},
			{at: 12, ready: true, want: TrialPromoted},
		}, ""},
		{"boxd keeps exiting: rolled back with its last error", []ev{
			{at: 0.3, exit: "exit status 1", want: TrialTrying},
			{at: 1, want: TrialTrying},
			{at: 1.5, exit: "exit status 1", want: TrialTrying},
			{at: 3.6, exit: `exit status 1: boxd: /run/pptpbox/pptpbox.toml:2: wan.interface: no interface "eth0" on this system`, want: TrialRolledBack},
			{at: 4, ready: true, want: TrialRolledBack},
		}, `boxd exited 3 times in 3.6s, last: exit status 1: boxd: /run/pptpbox/pptpbox.toml:2: wan.interface: no interface "eth0"`},
		{"never ready: rolled back at ReadyWithin + Hold", []ev{
			{at: 10, want: TrialTrying}, {at: 90, want: TrialTrying}, {at: 94.9, want: TrialTrying},
			{at: 95, want: TrialRolledBack},
		}, "boxd did not serve 5s without a break within 1m35s"},
		{"flapping: rolled back at the deadline", []ev{
			{at: 1, ready: true, want: TrialTrying}, {at: 4, exit: "killed by SIGSEGV", want: TrialTrying},
			{at: 60, ready: true, want: TrialTrying}, {at: 64, ready: false, want: TrialTrying},
			{at: 95, ready: true, want: TrialRolledBack},
		}, "(it exited 1 times, last: killed by SIGSEGV)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTrial(t0, 5*time.Second)
			for i, e := range tt.events {
				var got TrialState
				if e.exit != "" {
					got = tr.Exited(at(e.at), e.exit)
				} else {
					got = tr.Tick(at(e.at), e.ready)
				}
				if got != e.want || tr.State() != got {
					t.Fatalf("event %d (%+v): state %v, want %v", i, e, got, e.want)
				}
			}
			if tr.State() == TrialRolledBack && !strings.Contains(tr.Reason(), tt.reason) {
				t.Errorf("reason %q, want it to contain %q", tr.Reason(), tt.reason)
			}
			if tr.State() != TrialRolledBack && tr.Reason() != "" {
				t.Errorf("reason %q without a rollback", tr.Reason())
			}
		})
	}
	if tr := NewTrial(t0, 0); tr.Hold != DefaultTrialHold {
		t.Errorf("default hold %v", tr.Hold)
	}
}

// TestSelectFallback: a new config is on trial (WriteLastGood) with the previous last good
// one as its fallback, else the embedded default; the last good config itself is no trial.
// Before, Select had no fallback and the init wrote last-good.toml at once.
func TestSelectFallback(t *testing.T) {
	ok := func(*Candidate) error { return nil }
	def := cand(SourceDefault, "default")
	lg := cand(SourceLastGood, "old")
	d := Select(cand(SourceUSB, "new"), nil, lg, def, ok)
	if !d.WriteLastGood || d.Fallback != lg {
		t.Fatalf("usb over last good: trial %v fallback %v", d.WriteLastGood, d.Fallback)
	}
	d = Select(nil, cand(SourceFlash, "new"), nil, def, ok)
	if !d.WriteLastGood || d.Fallback != def {
		t.Fatalf("flash, no last good: trial %v fallback %v", d.WriteLastGood, d.Fallback)
	}
	d = Select(nil, cand(SourceFlash, "old"), lg, def, ok)
	if d.WriteLastGood || d.Fallback != nil {
		t.Fatalf("flash equal to last good: trial %v fallback %v", d.WriteLastGood, d.Fallback)
	}
}

// TestFailedRecord: the record of a failed config names its content, so the same bytes are
// recognised at the next boot and an edited file is not.
func TestFailedRecord(t *testing.T) {
	data := []byte("[wan]\ninterface = \"eth0\"\n")
	rec := FailedRecord(data, "/mnt/usb/pptpbox.toml", "boxd exited 3 times\nlast: x")
	hash, reason, ok := ParseFailed(rec)
	if !ok || hash != ConfigHash(data) || reason != "boxd exited 3 times last: x" {
		t.Fatalf("ParseFailed(%q) = %q %q %v", rec, hash, reason, ok)
	}
	if ConfigHash(append(data, '\n')) == hash {
		t.Fatal("an edited file has the same hash")
	}
	if _, _, ok := ParseFailed([]byte("garbage")); ok {
		t.Fatal("garbage parsed")
	}
}

// TestReadCandidateSizeCap: a config file over MaxConfigSize is not read (no data held) and
// Select rejects it with a message naming the file and the limit; one at the limit is read.
// Before, ReadCandidate read any size into memory.
func TestReadCandidateSizeCap(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.toml")
	edge := filepath.Join(dir, "edge.toml")
	os.WriteFile(big, bytes.Repeat([]byte("#"), MaxConfigSize+1), 0o644)
	os.WriteFile(edge, bytes.Repeat([]byte("#"), MaxConfigSize), 0o644)
	c := ReadCandidate(SourceUSB, big)
	if c == nil || c.Err == nil || c.Data != nil {
		t.Fatalf("over the cap: %+v", c)
	}
	if c := ReadCandidate(SourceFlash, edge); c == nil || c.Err != nil || len(c.Data) != MaxConfigSize {
		t.Fatalf("at the cap: err %v, %d bytes", c.Err, len(c.Data))
	}
	if c := ReadCandidate(SourceFlash, filepath.Join(dir, "missing.toml")); c != nil {
		t.Fatalf("missing file: %+v", c)
	}
	if c := ReadCandidate(SourceFlash, dir); c == nil || c.Err == nil {
		t.Fatalf("a directory: %+v", c)
	}
	validated := 0
	d := Select(c, cand(SourceFlash, "a"), nil, cand(SourceDefault, "d"), func(*Candidate) error { validated++; return nil })
	if d.Use.Source != SourceFlash || len(d.Errors) != 1 || validated != 1 {
		t.Fatalf("decision %v errors %q validated %d", d.Use.Source, d.Errors, validated)
	}
	if want := "config: USB " + big + " rejected, not applied: larger than 1048576 bytes (1 MiB)"; !strings.HasPrefix(d.Errors[0], want) {
		t.Errorf("console error %q, want %q...", d.Errors[0], want)
	}
}

func TestLastLine(t *testing.T) {
	var l lastLine
	l.Write([]byte("boxd starting\nboxd: x.toml:2: wan"))
	if got := l.get(); got != "boxd starting" {
		t.Fatalf("got %q", got)
	}
	l.Write([]byte(".interface: no interface\n\n  \n"))
	if got := l.get(); got != "boxd: x.toml:2: wan.interface: no interface" {
		t.Fatalf("got %q", got)
	}
	l.Write(bytes.Repeat([]byte("y"), 3*MaxLine))
	l.Write([]byte("tail\n"))
	if got := l.get(); got != "tail" {
		t.Fatalf("after a runaway line: %q", got)
	}
}

// TestTrialGaveUp: when the init stops restarting boxd, the config on trial rolls back at
// once, with the reason, rather than after ReadyWithin; a promoted trial is left alone.
func TestTrialGaveUp(t *testing.T) {
	t0 := time.Unix(0, 0)
	tr := NewTrial(t0, 3*time.Second)
	if st := tr.Exited(t0.Add(time.Second), "exit status 78"); st != TrialTrying {
		t.Fatalf("after one exit: %s", st)
	}
	if st := tr.GaveUp("boxd reports a fault a restart cannot fix: x"); st != TrialRolledBack || tr.Reason() != "boxd reports a fault a restart cannot fix: x" {
		t.Fatalf("gave up: %s %q", st, tr.Reason())
	}
	tr = NewTrial(t0, 3*time.Second)
	tr.Tick(t0, true)
	tr.Tick(t0.Add(3*time.Second), true)
	if st := tr.GaveUp("late"); st != TrialPromoted {
		t.Fatalf("promoted trial: %s", st)
	}
}
