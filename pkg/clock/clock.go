// Package clock keeps the system clock set from SNTP servers (RFC 4330,
// through github.com/beevik/ntp) and reports how well it is set.
//
// # The sync loop
//
// Syncer.Run asks the configured servers in order, one round per poll
// interval, and takes the first answer that passes the RFC 4330 §5 checks
// (ntp.Response.Validate: stratum 1-15, leap indicator not "unsynchronised",
// a fresh reference time, a sane root distance). The measured offset is
// then corrected:
//
//   - off by more than StepThreshold (1 s): the clock is stepped
//     (clock_settime), and the RTC written back when there is one. A box
//     without a battery-backed RTC boots in 1970; log lines, RADIUS
//     Event-Timestamps and the Disconnect-Request replay window need the
//     real time at once, not after hours of slewing.
//   - smaller offsets are slewed (adjtimex ADJ_OFFSET_SINGLESHOT, the
//     kernel's adjtime): time never jumps backwards under running
//     sessions; at the kernel's 500 ppm a 1 s offset takes ~33 minutes.
//
// # Poll interval
//
// Until the first sync (the WAN may not be up yet) a failed round is
// retried after Retry, doubling up to MinPoll. Once synced, each good
// round with a small offset doubles the interval from MinPoll up to
// MaxPoll; a step, a large offset or a failed round goes back to MinPoll.
// RFC 4330 §10 asks clients never to poll more often than every 15 s.
//
// # State
//
// Syncer.State is what `show system` prints: synced or not, the server,
// its stratum, the last offset, when the last sync was, the next poll and
// the last error. Synced stays true while the last good sync is younger
// than Stale (a day: the kernel clock drifts a few seconds per day at
// most).
package clock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Sample is one server's answer.
type Sample struct {
	Server  string
	Offset  time.Duration // add to the local clock to get the server's time
	RTT     time.Duration
	Stratum uint8
}

// QueryFunc asks one server ("host" or "host:port"; port 123 by default).
type QueryFunc func(ctx context.Context, server string) (Sample, error)

// Setter corrects the system clock. The tests' setters record; the real
// one (System) needs CAP_SYS_TIME.
type Setter interface {
	// Step sets the clock to now + d at once.
	Step(d time.Duration) error
	// Slew makes the kernel correct d gradually.
	Slew(d time.Duration) error
}

// RTC is the hardware clock, written after the system clock was set.
type RTC interface {
	Set(t time.Time) error
}

// Config is a Syncer's.
type Config struct {
	Servers []string
	// Query asks a server; nil is Query (UDP, beevik/ntp).
	Query QueryFunc
	// Set corrects the clock; nil measures only (State still reports the
	// offsets), for a boxd that does not own the host's clock.
	Set Setter
	// RTC is written after a step or the first sync; nil: none.
	RTC RTC
	Log *slog.Logger

	// Zero values take the defaults in brackets.
	StepThreshold time.Duration // [1s]
	Retry         time.Duration // first retry before the first sync [2s]
	MinPoll       time.Duration // [64s]
	MaxPoll       time.Duration // [1024s]
	Stale         time.Duration // synced no more after this without a good round [24h]
	Now           func() time.Time
}

// State is the sync state.
type State struct {
	Synced   bool
	Server   string // of the last good round
	Stratum  uint8
	Offset   time.Duration // measured in the last good round, before correcting
	RTT      time.Duration
	LastSync time.Time // zero: never
	Action   Action    // what the last good round did
	Steps    int       // clock steps since start
	Poll     time.Duration
	NextPoll time.Time
	LastErr  string // of the last failed round ("" after a good one)
	Failures int    // failed rounds since the last good one
}

// Action is what a round did to the clock.
type Action int

const (
	None     Action = iota // no round yet
	Stepped                // offset above StepThreshold: the clock was set
	Slewed                 // the kernel slews the offset away
	Measured               // no Setter: the offset was only measured
)

func (a Action) String() string {
	switch a {
	case Stepped:
		return "stepped"
	case Slewed:
		return "slewed"
	case Measured:
		return "measured"
	}
	return "none"
}

// Syncer is the sync loop. Safe for concurrent use.
type Syncer struct {
	cfg Config
	mu  sync.Mutex
	st  State
}

// New returns a Syncer for cfg; Run starts it.
func New(cfg Config) *Syncer {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.StepThreshold, time.Second)
	def(&cfg.Retry, 2*time.Second)
	def(&cfg.MinPoll, 64*time.Second)
	def(&cfg.MaxPoll, 1024*time.Second)
	def(&cfg.Stale, 24*time.Hour)
	cfg.MaxPoll = max(cfg.MaxPoll, cfg.MinPoll)
	cfg.Retry = min(cfg.Retry, cfg.MinPoll)
	if cfg.Query == nil {
		cfg.Query = Query
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{cfg: cfg}
}

// State returns the current state.
func (s *Syncer) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Synced = !st.LastSync.IsZero() && s.cfg.Now().Sub(st.LastSync) < s.cfg.Stale
	return st
}

// Run syncs until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	s.cfg.Log.Info("clock: sntp client started", "servers", fmt.Sprint(s.cfg.Servers), "sets_clock", s.cfg.Set != nil)
	for ctx.Err() == nil {
		wait := s.Round(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Round runs one round: it asks the servers in order until one answers,
// corrects the clock and returns how long to wait before the next round.
func (s *Syncer) Round(ctx context.Context) time.Duration {
	var errs []string
	for _, srv := range s.cfg.Servers {
		smp, err := s.cfg.Query(ctx, srv)
		if ctx.Err() != nil {
			return 0 // stopping: a round cut short says nothing
		}
		if err != nil {
			errs = append(errs, srv+": "+err.Error())
			continue
		}
		smp.Server = srv
		return s.good(smp)
	}
	// One line (show system prints it): each server's error.
	return s.failed(errors.New(strings.Join(errs, "; ")))
}

// good corrects the clock by smp and moves the poll interval.
func (s *Syncer) good(smp Sample) time.Duration {
	act := Measured
	var err error
	abs := smp.Offset.Abs()
	if s.cfg.Set != nil {
		if abs > s.cfg.StepThreshold {
			act, err = Stepped, s.cfg.Set.Step(smp.Offset)
		} else {
			act, err = Slewed, s.cfg.Set.Slew(smp.Offset)
			if errors.Is(err, errors.ErrUnsupported) {
				act, err = Stepped, s.cfg.Set.Step(smp.Offset)
			}
		}
	}
	if err != nil {
		return s.failed(fmt.Errorf("%s: %s the clock by %v: %w", smp.Server, act, smp.Offset, err))
	}
	now := s.cfg.Now()
	s.mu.Lock()
	first := s.st.LastSync.IsZero()
	switch {
	case first || act == Stepped || abs > s.cfg.StepThreshold/8:
		s.st.Poll = s.cfg.MinPoll
	default:
		s.st.Poll = min(max(s.st.Poll*2, s.cfg.MinPoll), s.cfg.MaxPoll)
	}
	if act == Stepped {
		s.st.Steps++
	}
	s.st.Server, s.st.Stratum, s.st.Offset, s.st.RTT = smp.Server, smp.Stratum, smp.Offset, smp.RTT
	s.st.LastSync, s.st.Action, s.st.LastErr, s.st.Failures = now, act, "", 0
	s.st.NextPoll = now.Add(s.st.Poll)
	poll := s.st.Poll
	s.mu.Unlock()

	lvl := slog.LevelDebug
	if first || act == Stepped {
		lvl = slog.LevelInfo
	}
	s.cfg.Log.Log(context.Background(), lvl, "clock: synced", "server", smp.Server, "stratum", smp.Stratum,
		"offset", smp.Offset, "rtt", smp.RTT, "action", act, "next_poll", poll)
	if s.cfg.RTC != nil && (first || act == Stepped) {
		if err := s.cfg.RTC.Set(now); err != nil {
			s.cfg.Log.Warn("clock: rtc write-back", "err", err)
		}
	}
	return poll
}

// failed records a round without a usable answer.
func (s *Syncer) failed(err error) time.Duration {
	if err.Error() == "" {
		err = errors.New("no servers")
	}
	now := s.cfg.Now()
	s.mu.Lock()
	never := s.st.LastSync.IsZero()
	switch {
	case never && s.st.Poll == 0:
		s.st.Poll = s.cfg.Retry
	case never:
		s.st.Poll = min(s.st.Poll*2, s.cfg.MinPoll)
	default:
		s.st.Poll = s.cfg.MinPoll
	}
	s.st.LastErr = err.Error()
	s.st.NextPoll = now.Add(s.st.Poll)
	s.st.Failures++
	poll, n := s.st.Poll, s.st.Failures
	s.mu.Unlock()
	// A box without a way to a server fails every poll: the console
	// hears of the first failure, then of the 16th, 32nd, 64th... (about
	// 10 min, 27 min, an hour at MinPoll); the rest are debug lines.
	lvl := slog.LevelDebug
	if n == 1 || (n >= 16 && n&(n-1) == 0) {
		lvl = slog.LevelWarn
	}
	s.cfg.Log.Log(context.Background(), lvl, "clock: no usable time server", "err", err, "failed_rounds", n, "retry_in", poll)
	return poll
}
