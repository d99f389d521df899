package logring

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func texts(ls []Line) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Text)
	}
	return out
}

func TestRingKeepsTheLastLines(t *testing.T) {
	r := New(3)
	if got := r.Last(0); len(got) != 0 {
		t.Fatalf("empty ring: %v", got)
	}
	for i := range 5 {
		fmt.Fprintf(r, "level=INFO msg=%d\n", i)
	}
	if got, want := strings.Join(texts(r.Last(0)), "|"), "level=INFO msg=2|level=INFO msg=3|level=INFO msg=4"; got != want {
		t.Errorf("Last(0) = %s, want %s", got, want)
	}
	if got := texts(r.Last(2)); len(got) != 2 || got[0] != "level=INFO msg=3" || got[1] != "level=INFO msg=4" {
		t.Errorf("Last(2) = %q", got)
	}
	if got := r.Last(10); len(got) != 3 {
		t.Errorf("Last(10) = %d lines, want the 3 kept", len(got))
	}
	// Several lines in one write, an empty one skipped, no final newline.
	r.Write([]byte("a\n\nb"))
	if got := texts(r.Last(2)); got[0] != "a" || got[1] != "b" {
		t.Errorf("after a multi-line write: %q", got)
	}
}

func TestLevels(t *testing.T) {
	for line, want := range map[string]slog.Level{
		`time=2026-01-01T00:00:00Z level=WARN msg="x level=ERROR"`: slog.LevelWarn,
		`level=ERROR msg=boom`:                  slog.LevelError,
		`time=x level=DEBUG msg=y`:              slog.LevelDebug,
		`time=x level=INFO+2 msg=y`:             slog.LevelInfo + 2,
		`{"time":"x","level":"WARN","msg":"y"}`: slog.LevelWarn,
		`no level here`:                         slog.LevelInfo,
		`time=x level=LOUD msg=y`:               slog.LevelInfo,
		`xlevel=ERROR`:                          slog.LevelInfo,
	} {
		if got := levelOf([]byte(line)); got != want {
			t.Errorf("levelOf(%q) = %v, want %v", line, got, want)
		}
	}
}

// The ring behind a real slog handler: one line per record, its level read
// back, followers see only their level and up.
func TestWithSlog(t *testing.T) {
	r := New(100)
	var out strings.Builder
	log := slog.New(slog.NewTextHandler(Tee(r, &out), &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := r.Follow(slog.LevelWarn, 10)
	defer f.Close()
	log.Debug("d")
	log.Info("i", "k", "v")
	log.Warn("w")
	log.Error("e", "err", errors.New("bad\nthing"))
	lines := r.Last(0)
	if len(lines) != 4 || out.Len() == 0 {
		t.Fatalf("ring has %d lines (%q), stderr %q", len(lines), texts(lines), out.String())
	}
	for i, want := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if lines[i].Level != want || lines[i].Time.IsZero() {
			t.Errorf("line %d: level %v time %v, want %v", i, lines[i].Level, lines[i].Time, want)
		}
	}
	for _, want := range []string{"msg=w", "msg=e"} {
		select {
		case l := <-f.C():
			if !strings.Contains(l.Text, want) {
				t.Errorf("follower got %q, want %s", l.Text, want)
			}
		case <-time.After(time.Second):
			t.Fatalf("follower did not get %s", want)
		}
	}
	select {
	case l := <-f.C():
		t.Errorf("follower got a line more: %q", l.Text)
	default:
	}
}

// A follower that never reads never blocks logging: its lines beyond its
// buffer are dropped and counted, and other followers get every line.
func TestSlowFollower(t *testing.T) {
	r := New(10)
	slow := r.Follow(slog.LevelDebug, 2)
	fast := r.Follow(slog.LevelDebug, 1)
	var got []string
	var wg sync.WaitGroup
	wg.Go(func() {
		for l := range fast.C() {
			got = append(got, l.Text)
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			fmt.Fprintf(r, "level=INFO msg=%d\n", i)
			if i%10 == 0 {
				time.Sleep(time.Millisecond) // let the fast follower keep up
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a follower that does not read")
	}
	if d := slow.Dropped(); d != 998 {
		t.Errorf("slow follower dropped %d, want 998", d)
	}
	if l := <-slow.C(); l.Text != "level=INFO msg=0" {
		t.Errorf("slow follower's first line %q", l.Text)
	}
	fast.Close()
	fast.Close()
	wg.Wait()
	if fast.Dropped() == 0 && len(got) != 1000 {
		t.Errorf("fast follower got %d lines, dropped none", len(got))
	}
	if uint64(len(got))+fast.Dropped() != 1000 {
		t.Errorf("fast follower: %d lines + %d dropped != 1000", len(got), fast.Dropped())
	}
	slow.Close()
	fmt.Fprintln(r, "after close") // no send on a closed follower
	if len(r.subs) != 0 {
		t.Errorf("%d followers left", len(r.subs))
	}
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("stderr gone") }

func TestTeeKeepsLinesWhenTheOutputFails(t *testing.T) {
	r := New(5)
	if _, err := Tee(r, failWriter{}).Write([]byte("level=ERROR msg=x\n")); err == nil {
		t.Error("Tee hid the output's error")
	}
	if got := r.Last(0); len(got) != 1 || got[0].Level != slog.LevelError {
		t.Errorf("ring %+v", got)
	}
}

func FuzzWrite(f *testing.F) {
	f.Add([]byte("time=x level=WARN msg=y\n"))
	f.Add([]byte(`{"level":"ERROR"}` + "\n\n"))
	f.Add([]byte("level=\nlevel"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := New(4)
		if n, err := r.Write(b); n != len(b) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		for _, l := range r.Last(0) {
			if l.Text == "" || strings.Contains(l.Text, "\n") {
				t.Errorf("line %q", l.Text)
			}
		}
	})
}
