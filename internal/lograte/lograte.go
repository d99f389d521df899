// Package lograte limits how often a log line that an attacker can trigger
// is written: refusals under a flood are counted in full, but logged at
// most once per interval with the number of lines left out since.
package lograte

import (
	"sync/atomic"
	"time"
)

// Limiter allows one line per Every. The zero value allows one per second.
// It is safe for concurrent use and takes no lock.
type Limiter struct {
	Every time.Duration

	last       atomic.Int64 // unix nanoseconds of the last allowed line
	suppressed atomic.Uint64
}

// Allow reports whether a line may be written now; when it may, suppressed
// is how many were left out since the last one.
func (l *Limiter) Allow(now time.Time) (ok bool, suppressed uint64) {
	every := l.Every
	if every <= 0 {
		every = time.Second
	}
	t := now.UnixNano()
	last := l.last.Load()
	if last != 0 && t-last < int64(every) || !l.last.CompareAndSwap(last, t) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
