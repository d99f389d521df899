package clock

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/clock/ntptest"
)

// recSetter records what the Syncer asked of the clock.
type recSetter struct {
	steps, slews []time.Duration
	slewErr      error
}

func (r *recSetter) Step(d time.Duration) error { r.steps = append(r.steps, d); return nil }
func (r *recSetter) Slew(d time.Duration) error { r.slews = append(r.slews, d); return r.slewErr }

type recRTC struct{ set []time.Time }

func (r *recRTC) Set(t time.Time) error { r.set = append(r.set, t); return nil }

func near(got, want, tol time.Duration) bool { return (got - want).Abs() <= tol }

func TestQueryLoopbackServer(t *testing.T) {
	srv, err := ntptest.Start(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Query(ctx, srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if !near(s.Offset, time.Hour, 200*time.Millisecond) || s.Stratum != 2 {
		t.Fatalf("sample %+v, want offset ~1h stratum 2", s)
	}
	// RFC 4330 §5: a kiss-o'-death (stratum 0) and an unsynchronised
	// server (LI 3) are not used.
	for _, c := range []struct {
		stratum, leap uint8
	}{{0, 0}, {2, 3}, {16, 0}} {
		srv.Set(time.Hour, c.stratum, c.leap)
		if s, err := Query(ctx, srv.Addr()); err == nil {
			t.Errorf("stratum %d leap %d: accepted %+v", c.stratum, c.leap, s)
		}
	}
}

func TestSyncerStepsSlewsAndWritesRTC(t *testing.T) {
	srv, err := ntptest.Start(-90 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	set, rtc := &recSetter{}, &recRTC{}
	s := New(Config{Servers: []string{srv.Addr()}, Set: set, RTC: rtc})
	ctx := context.Background()
	if st := s.State(); st.Synced || st.Action != None {
		t.Fatalf("before a round: %+v", st)
	}
	if wait := s.Round(ctx); wait != 64*time.Second {
		t.Errorf("after the first sync: next poll %v, want MinPoll 64s", wait)
	}
	st := s.State()
	if !st.Synced || st.Action != Stepped || st.Steps != 1 || st.Server != srv.Addr() || st.Stratum != 2 ||
		!near(st.Offset, -90*time.Minute, 200*time.Millisecond) {
		t.Fatalf("state %+v", st)
	}
	if len(set.steps) != 1 || !near(set.steps[0], -90*time.Minute, 200*time.Millisecond) || len(set.slews) != 0 {
		t.Fatalf("steps %v slews %v", set.steps, set.slews)
	}
	if len(rtc.set) != 1 {
		t.Fatalf("rtc written %d times, want 1 (after the step)", len(rtc.set))
	}
	// A small offset is slewed, and the RTC is left alone.
	srv.Set(300*time.Millisecond, 2, 0)
	s.Round(ctx)
	if st := s.State(); st.Action != Slewed || len(set.slews) != 1 || !near(set.slews[0], 300*time.Millisecond, 200*time.Millisecond) || len(rtc.set) != 1 {
		t.Fatalf("small offset: %+v slews %v rtc %d", st, set.slews, len(rtc.set))
	}
	// No slew on this platform: step instead.
	set.slewErr = errors.ErrUnsupported
	s.Round(ctx)
	if st := s.State(); st.Action != Stepped || st.Steps != 2 {
		t.Fatalf("slew unsupported: %+v", st)
	}
}

func TestSyncerMeasuresWithoutSetter(t *testing.T) {
	srv, err := ntptest.Start(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := New(Config{Servers: []string{srv.Addr()}})
	s.Round(context.Background())
	if st := s.State(); !st.Synced || st.Action != Measured || st.Steps != 0 || !near(st.Offset, 5*time.Second, 200*time.Millisecond) {
		t.Fatalf("state %+v", st)
	}
}

func TestSyncerFailsOverToTheNextServer(t *testing.T) {
	// A port nobody listens on: closed right after binding.
	dead, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	srv, err := ntptest.Start(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := New(Config{Servers: []string{deadAddr, srv.Addr()}})
	s.Round(context.Background())
	if st := s.State(); !st.Synced || st.Server != srv.Addr() {
		t.Fatalf("state %+v, want synced to the second server", st)
	}
	// Both down: one line naming each.
	srv.Set(0, 0, 0) // kiss-o'-death
	s.Round(context.Background())
	if st := s.State(); !strings.HasPrefix(st.LastErr, deadAddr+": ") || !strings.Contains(st.LastErr, "; "+srv.Addr()+": ") || strings.Contains(st.LastErr, "\n") {
		t.Fatalf("last error %q", st.LastErr)
	}
}

// fakeQuery answers from a script: one entry per call, an error or an offset.
type fakeQuery struct {
	script []any
	calls  int
}

func (f *fakeQuery) query(ctx context.Context, server string) (Sample, error) {
	v := f.script[min(f.calls, len(f.script)-1)]
	f.calls++
	if err, ok := v.(error); ok {
		return Sample{}, err
	}
	return Sample{Offset: v.(time.Duration), Stratum: 3}, nil
}

func TestSyncerPollInterval(t *testing.T) {
	down := errors.New("network is unreachable")
	ms := time.Millisecond
	q := &fakeQuery{script: []any{
		down, down, down, down, down, down, down, // the WAN is not up yet
		10 * ms, 10 * ms, 10 * ms, 10 * ms, 10 * ms, 10 * ms, // synced: back off to MaxPoll
		400 * ms, // a large offset: MinPoll again
		10 * ms,
		down, // a failed round once synced: MinPoll, still synced
		3 * time.Second,
	}}
	now := time.Unix(1_800_000_000, 0)
	s := New(Config{Servers: []string{"a"}, Query: q.query, Set: &recSetter{}, Now: func() time.Time { return now }})
	want := []time.Duration{
		2, 4, 8, 16, 32, 64, 64,
		64, 128, 256, 512, 1024, 1024,
		64, 128, 64, 64,
	}
	for i, w := range want {
		got := s.Round(context.Background())
		if got != w*time.Second {
			t.Fatalf("round %d (%v): next poll %v, want %v", i, q.script[i], got, w*time.Second)
		}
		if st := s.State(); st.Poll != got || !st.NextPoll.Equal(now.Add(got)) {
			t.Fatalf("round %d: state %+v", i, st)
		}
	}
	st := s.State()
	if !st.Synced || st.LastErr != "" || st.Action != Stepped {
		t.Fatalf("end state %+v", st)
	}
	// A day without a good round: no longer synced.
	now = now.Add(25 * time.Hour)
	if s.State().Synced {
		t.Fatal("still synced after 25h without a good round")
	}
}

// Failures are warned about at the first, then at the 16th, 32nd, 64th...
func TestSyncerFailureWarnings(t *testing.T) {
	q := &fakeQuery{script: []any{errors.New("down")}}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s := New(Config{Servers: []string{"a"}, Query: q.query, Log: log})
	for range 70 {
		s.Round(context.Background())
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		_, after, _ := strings.Cut(l, "failed_rounds=")
		n, _, _ := strings.Cut(after, " ")
		got = append(got, n)
	}
	if want := []string{"1", "16", "32", "64"}; !slices.Equal(got, want) {
		t.Fatalf("warned at failed rounds %v, want %v:\n%s", got, want, buf.String())
	}
	q.script = []any{time.Millisecond}
	s.Round(context.Background())
	if st := s.State(); st.Failures != 0 || !st.Synced {
		t.Fatalf("after a good round: %+v", st)
	}
}

func TestSyncerRunStopsWithContext(t *testing.T) {
	q := &fakeQuery{script: []any{errors.New("down")}}
	s := New(Config{Servers: []string{"a"}, Query: q.query, Retry: time.Millisecond, MinPoll: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for s.State().LastErr == "" {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if st := s.State(); st.Synced || st.LastErr != "a: down" {
		t.Fatalf("state %+v", st)
	}
}
