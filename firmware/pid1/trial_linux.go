package pid1

import (
	"fmt"
	"path/filepath"
	"syscall"
	"time"
)

// superviseTrial runs the Trial of a new config (Decision.WriteLastGood): promotes it to
// last-good.toml once boxd has served with it for the hold time, or rolls back to the
// previous last good config when boxd keeps failing with it.
func (b *box) superviseTrial() {
	hold := DefaultTrialHold
	if v, ok := b.cmd.Value(optTrial); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			hold = d
		}
	}
	s := b.svc()
	t := NewTrial(time.Now(), hold)
	use := b.dec().Use
	b.lg.Info("config on trial", "file", use.Path, "hold", hold, "max_fails", t.MaxFails, "ready_within", t.ReadyWithin)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var st TrialState
		select {
		case ex := <-s.exits:
			if ex.gaveUp != "" {
				st = t.GaveUp(ex.gaveUp)
			} else {
				st = t.Exited(time.Now(), ex.why)
			}
		case <-tick.C:
			st = t.Tick(time.Now(), b.boxdReady())
		}
		switch st {
		case TrialPromoted:
			b.promote(use, hold)
			return
		case TrialRolledBack:
			b.rollback(use, t.Reason())
			return
		}
	}
}

func (b *box) promote(use *Candidate, hold time.Duration) {
	if b.flashDev == "" {
		b.lg.Warn("config served, but there is no CONFIG partition to keep it as last good", "file", use.Path)
		return
	}
	if err := WriteFileAtomic(flashMount, LastGoodName, use.Data); err != nil {
		b.lg.Error("save last good config", "err", err)
		return
	}
	b.notice(fmt.Sprintf("config: %s served for %s: it is the last good config now", use.Path, hold))
}

// rollback stops boxd, records the failed config on flash (later boots skip it until it is
// edited), and restarts boxd with the previous last good config (or the embedded default),
// saying why on the console.
func (b *box) rollback(failed *Candidate, reason string) {
	d := b.dec()
	fb := d.Fallback
	if fb == nil {
		fb = b.def
	}
	if fb.Source != SourceDefault {
		if err := b.validate(fb); err != nil {
			b.lg.Error("last good config rejected, using the embedded default", "file", fb.Path, "err", err)
			fb = b.def
		}
	}
	msg := fmt.Sprintf("config: %s %s failed at runtime, back to %s %s: %s", failed.Source, failed.Path, fb.Source, fb.Path, reason)
	b.printBanner(msg)
	if b.flashDev != "" {
		if err := WriteFileAtomic(flashMount, FailedName, FailedRecord(failed.Data, failed.Path, reason)); err != nil {
			b.lg.Error("record failed config", "file", filepath.Join(flashMount, FailedName), "err", err)
		}
	}
	b.svc().stop(10 * time.Second)
	b.mu.Lock()
	b.decision.Use = fb
	b.decision.Errors = append(b.decision.Errors, msg)
	b.decision.WriteLastGood = false
	b.mu.Unlock()
	b.installConfig(fb)
	b.startBoxd()
	if b.readyLines.Load() > 0 {
		// The ready line named the failed config; print one for this one.
		go b.printReadyWhenUp()
	}
}

// ServiceNofile is the descriptor limit (RLIMIT_NOFILE, soft and hard) the init gives the
// services it starts. The kernel's default (1024 soft, 4096 hard) is a desktop's; boxd holds
// a descriptor per control connection, and a router must not run out at a few hundred.
const ServiceNofile = 65536

// setServiceLimits sets the init's own RLIMIT_NOFILE, which its children inherit. It goes
// through package syscall on purpose: the Go runtime raises its soft limit at start-up and
// gives children the original one back, unless the program sets the limit itself through
// syscall.Setrlimit (then children get what was set).
func (b *box) setServiceLimits() {
	var before syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before)
	got, err := setNofile(ServiceNofile)
	if err != nil {
		b.lg.Error("descriptor limit", "want", ServiceNofile, "err", err)
	}
	b.lg.Info("descriptor limit for services", "nofile_soft", got.Cur, "nofile_hard", got.Max, "was_hard", before.Max)
}

// setNofile sets RLIMIT_NOFILE to n (soft and hard); without the privilege to raise the hard
// limit that far it raises the soft limit to the hard one. It returns the limit in force
// after.
func setNofile(n uint64) (syscall.Rlimit, error) {
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n})
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if err != nil {
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: now.Max, Max: now.Max})
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	}
	return now, err
}
