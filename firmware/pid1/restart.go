package pid1

import (
	"fmt"
	"time"
)

// ExitUnfixable is the exit status by which boxd says that starting it again cannot help
// (sysexits.h's EX_CONFIG): its config cannot run, the kernel lacks what it needs. The init
// stops restarting it and says why on the console.
const ExitUnfixable = 78

// DefaultMaxSame is how many quick exits in a row with the same reason the init takes before
// it stops restarting boxd: the same last words five times over 15 s of backoff is a fault
// that a restart does not fix.
const DefaultMaxSame = 5

// RestartPolicy decides, after each exit of a service, whether to start it again and when.
//
//	exit with ExitUnfixable ------------------------------> give up
//	MaxSame quick exits in a row with the same reason ----> give up
//	otherwise ---------------------------------------------> restart after Backoff.Next
//
// A run longer than the backoff's Stable counts as a recovery: the tally starts again. It is
// plain state: the caller's clock is the run time it passes in.
type RestartPolicy struct {
	Backoff Backoff
	MaxSame int

	same    int
	lastWhy string
}

// NewRestartPolicy is the policy the init runs boxd with.
func NewRestartPolicy() *RestartPolicy {
	return &RestartPolicy{Backoff: DefaultBackoff(), MaxSame: DefaultMaxSame}
}

// Next takes an exit (how long the process ran, its exit code, -1 for a signal or a failed
// start, and why: the status and its last line) and returns how long to wait before
// starting it again, or a non-empty giveUp saying why it must not be.
func (p *RestartPolicy) Next(ranFor time.Duration, code int, why string) (wait time.Duration, giveUp string) {
	if code == ExitUnfixable {
		return 0, "boxd reports a fault a restart cannot fix: " + why
	}
	if ranFor >= p.Backoff.Stable || why != p.lastWhy {
		p.same = 0
	}
	p.same++
	p.lastWhy = why
	if p.MaxSame > 0 && p.same >= p.MaxSame {
		return 0, fmt.Sprintf("boxd exited %d times in a row with the same error, a restart does not fix it: %s", p.same, why)
	}
	return p.Backoff.Next(ranFor), ""
}
