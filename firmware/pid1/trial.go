package pid1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// A config that passed `boxd check` is only validated: boxd may still fail with it at
// runtime (a port the board does not have, an address in use). The last good copy is the
// box's only way back, so a new config becomes last good only after boxd has served with it:
// a Trial watches boxd running a candidate and decides to promote it or to roll back.
//
//	trying --(ready continuously for Hold)------------------> promoted (write last-good.toml)
//	trying --(boxd exited MaxFails times)-------------------> rolled back (previous last good)
//	trying --(the init gave up restarting boxd)--------------> rolled back
//	trying --(not ready for Hold by ReadyWithin + Hold)-----> rolled back
//
// Trial is plain state driven by the caller's clock (Tick, Exited), so it is tested without
// processes or sleeps.

// Trial timing defaults. DefaultTrialHold is overridable on the kernel command line
// (pptpbox.trial=<duration>) so that tests need not wait a minute.
const (
	DefaultTrialHold        = 60 * time.Second
	DefaultTrialReadyWithin = 90 * time.Second // the ready line's own limit
	DefaultTrialMaxFails    = 3
)

// TrialState is where a Trial is.
type TrialState int

const (
	TrialTrying TrialState = iota
	TrialPromoted
	TrialRolledBack
)

func (s TrialState) String() string {
	switch s {
	case TrialTrying:
		return "trying"
	case TrialPromoted:
		return "promoted"
	case TrialRolledBack:
		return "rolled-back"
	}
	return fmt.Sprintf("TrialState(%d)", int(s))
}

// Trial is one candidate config on probation.
type Trial struct {
	Hold        time.Duration // ready this long without a break: promote
	ReadyWithin time.Duration // not promoted by start + ReadyWithin + Hold: roll back
	MaxFails    int           // boxd exits before promotion that mean roll back

	state      TrialState
	start      time.Time
	readySince time.Time // zero: not ready now
	fails      int
	lastExit   string
	reason     string
}

// NewTrial starts a trial at now with the defaults, hold overriding DefaultTrialHold when
// positive.
func NewTrial(now time.Time, hold time.Duration) *Trial {
	if hold <= 0 {
		hold = DefaultTrialHold
	}
	return &Trial{Hold: hold, ReadyWithin: DefaultTrialReadyWithin, MaxFails: DefaultTrialMaxFails, start: now}
}

// State is the trial's state.
func (t *Trial) State() TrialState { return t.state }

// Reason says why the trial rolled back ("" otherwise).
func (t *Trial) Reason() string { return t.reason }

// Tick reports whether boxd is ready (answers on its control socket) at now, and returns the
// state after it.
func (t *Trial) Tick(now time.Time, ready bool) TrialState {
	if t.state != TrialTrying {
		return t.state
	}
	if !ready {
		t.readySince = time.Time{}
	} else if t.readySince.IsZero() {
		t.readySince = now
	}
	switch {
	case ready && now.Sub(t.readySince) >= t.Hold:
		t.state = TrialPromoted
	case now.Sub(t.start) >= t.ReadyWithin+t.Hold:
		t.state = TrialRolledBack
		if t.fails > 0 {
			t.reason = fmt.Sprintf("boxd did not serve %s without a break within %s (it exited %d times, last: %s)",
				t.Hold, t.ReadyWithin+t.Hold, t.fails, t.lastExit)
		} else {
			t.reason = fmt.Sprintf("boxd did not serve %s without a break within %s", t.Hold, t.ReadyWithin+t.Hold)
		}
	}
	return t.state
}

// Exited reports that boxd exited (why: its exit status and last output line) at now.
func (t *Trial) Exited(now time.Time, why string) TrialState {
	if t.state != TrialTrying {
		return t.state
	}
	t.readySince = time.Time{}
	t.fails++
	t.lastExit = why
	if t.fails >= t.MaxFails {
		t.state = TrialRolledBack
		t.reason = fmt.Sprintf("boxd exited %d times in %s, last: %s", t.fails, now.Sub(t.start).Round(100*time.Millisecond), why)
	}
	return t.state
}

// GaveUp reports that the init stopped restarting boxd (a fault a restart cannot fix):
// with a new config on trial, that is the config's doing until shown otherwise, and the
// box goes back to the previous one at once rather than waiting out ReadyWithin.
func (t *Trial) GaveUp(why string) TrialState {
	if t.state != TrialTrying {
		return t.state
	}
	t.state = TrialRolledBack
	t.reason = why
	return t.state
}

// FailedName is the CONFIG partition file naming a config that failed its trial, so that
// the next boots skip it (and say why) instead of trying it again; any edit of the file
// makes it a new candidate.
const FailedName = "failed-config.txt"

// ConfigHash identifies a config's content in FailedName.
func ConfigHash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// FailedRecord is the content of FailedName: the hash of the config that failed and why.
func FailedRecord(data []byte, path, reason string) []byte {
	return []byte(fmt.Sprintf("sha256=%s\nfile=%s\nreason=%s\n", ConfigHash(data), path, oneLine(reason)))
}

// ParseFailed reads a FailedName file: the hash and the reason, ok false when it is not one.
func ParseFailed(b []byte) (hash, reason string, ok bool) {
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "sha256":
			hash = v
		case "reason":
			reason = v
		}
	}
	return hash, reason, len(hash) == 64
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
