// Package dialout keeps a site-to-site tunnel up: the box dials a remote
// PPTP server ([[pptp.dial]], MikroTik's pptp-client) and dials again when
// the link goes down, with exponential backoff.
//
// A Dialer is a state machine, run by one goroutine (Run):
//
//	down --Run--> dialing --ok--> up --link down--> backoff --wait--> dialing
//	                 \--error--> backoff --wait--> dialing
//	any state --ctx done--> down (an up session is hung up first)
//
// The wait after a failed dial doubles from MinBackoff up to MaxBackoff; a
// session that stayed up for StableAfter resets it, so a link that drops
// after hours is dialed again after MinBackoff. Connecting (the PPTP call,
// its TUN device, address and routes) is the Connector's: PPTP is the real
// one (pptp.go), tests use fakes.
package dialout

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// State is where a Dialer is.
type State int

const (
	Down    State = iota // not running
	Dialing              // a dial is under way
	Up                   // the tunnel carries traffic
	Backoff              // waiting before the next dial
)

func (s State) String() string {
	switch s {
	case Down:
		return "down"
	case Dialing:
		return "dialing"
	case Up:
		return "up"
	case Backoff:
		return "backoff"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Session is an established tunnel, plumbed (device, address, routes).
type Session interface {
	Local() netip.Addr // our address (IPCP)
	Peer() netip.Addr  // the server's tunnel address
	// Done is closed when the link is down by itself; Reason says why.
	Done() <-chan struct{}
	Reason() string
	// Close hangs up (if still up) and removes what Connect set up.
	Close() error
}

// Connector dials one session.
type Connector interface {
	Connect(ctx context.Context) (Session, error)
}

// Config is one dial-out.
type Config struct {
	Name      string
	Connector Connector
	// MinBackoff, MaxBackoff bound the wait between dials (1 s, 30 s when
	// zero). DialTimeout bounds one dial (30 s).
	MinBackoff, MaxBackoff, DialTimeout time.Duration
	// StableAfter: a session up this long resets the backoff (MaxBackoff
	// when zero).
	StableAfter time.Duration
	Logger      *slog.Logger
	// After and Now are the clock (time.After, time.Now when nil).
	After func(time.Duration) <-chan time.Time
	Now   func() time.Time
}

// Status is a Dialer's state for show and metrics.
type Status struct {
	Name  string
	State State
	Since time.Time // when State began
	// Local and Peer are the tunnel's addresses while Up.
	Local, Peer netip.Addr
	// Failures are the dials that failed in a row; Connects the sessions
	// that came up since Run began.
	Failures int
	Connects uint64
	// LastError is why the last dial failed or the last session ended.
	LastError string
	// NextDial is when the next dial starts (in Backoff).
	NextDial time.Time
}

// Dialer keeps one dial-out up.
type Dialer struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	st Status
}

// New makes a Dialer in state Down.
func New(cfg Config) *Dialer {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = cfg.MaxBackoff
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dialer{cfg: cfg, log: log.With("dialout", cfg.Name)}
	d.st = Status{Name: cfg.Name, State: Down, Since: cfg.Now()}
	return d
}

// Status is the Dialer's state now.
func (d *Dialer) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

// set moves to state s; edit changes the other fields under the same lock.
func (d *Dialer) set(s State, edit func(st *Status)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.State != s {
		d.st.State, d.st.Since = s, d.cfg.Now()
	}
	if s != Up {
		d.st.Local, d.st.Peer = netip.Addr{}, netip.Addr{}
	}
	if s != Backoff {
		d.st.NextDial = time.Time{}
	}
	if edit != nil {
		edit(&d.st)
	}
}

// Run dials, keeps the session up and dials again until ctx ends; then it
// hangs up and returns in state Down.
func (d *Dialer) Run(ctx context.Context) {
	defer d.set(Down, nil)
	wait := time.Duration(0)
	for ctx.Err() == nil {
		d.set(Dialing, nil)
		dctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
		s, err := d.cfg.Connector.Connect(dctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = d.nextWait(wait)
			d.log.Warn("dial-out failed", "err", err, "retry_in", wait)
			if !d.backoff(ctx, wait, err.Error(), true) {
				return
			}
			continue
		}
		upAt := d.cfg.Now()
		d.set(Up, func(st *Status) {
			st.Local, st.Peer = s.Local(), s.Peer()
			st.Failures, st.LastError = 0, ""
			st.Connects++
		})
		d.log.Info("dial-out up", "local", s.Local(), "peer", s.Peer())
		select {
		case <-ctx.Done():
			if err := s.Close(); err != nil {
				d.log.Warn("dial-out hang-up", "err", err)
			}
			d.log.Info("dial-out hung up")
			return
		case <-s.Done():
		}
		reason := s.Reason()
		if d.cfg.Now().Sub(upAt) >= d.cfg.StableAfter {
			wait = 0
		}
		wait = d.nextWait(wait)
		d.log.Warn("dial-out down", "reason", reason, "redial_in", wait)
		d.set(Backoff, func(st *Status) { st.LastError = "link down: " + reason })
		// The link is gone: this removes the device and routes, and
		// clears the call if the server still listens.
		if err := s.Close(); err != nil {
			d.log.Debug("dial-out hang-up", "err", err)
		}
		if !d.backoff(ctx, wait, "link down: "+reason, false) {
			return
		}
	}
}

// nextWait doubles the wait, from MinBackoff to MaxBackoff.
func (d *Dialer) nextWait(prev time.Duration) time.Duration {
	if prev <= 0 {
		return d.cfg.MinBackoff
	}
	return min(2*prev, d.cfg.MaxBackoff)
}

// backoff waits in state Backoff; false when ctx ended first.
func (d *Dialer) backoff(ctx context.Context, wait time.Duration, why string, failed bool) bool {
	d.set(Backoff, func(st *Status) {
		st.LastError, st.NextDial = why, d.cfg.Now().Add(wait)
		if failed {
			st.Failures++
		}
	})
	select {
	case <-ctx.Done():
		return false
	case <-d.cfg.After(wait):
		return true
	}
}
