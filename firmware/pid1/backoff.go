package pid1

import "time"

// Backoff spaces out restarts of a service that keeps dying: Min after the first quick
// death, doubling up to Max; a run longer than Stable resets it, so a crash after a day of
// service restarts at once.
type Backoff struct {
	Min, Max, Stable time.Duration
	cur              time.Duration
}

// DefaultBackoff is what the init uses for boxd.
func DefaultBackoff() Backoff {
	return Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Stable: time.Minute}
}

// Next returns how long to wait before restarting a service that ran for ranFor.
func (b *Backoff) Next(ranFor time.Duration) time.Duration {
	if ranFor >= b.Stable || b.cur == 0 {
		b.cur = b.Min
		return b.cur
	}
	b.cur = min(2*b.cur, b.Max)
	return b.cur
}
