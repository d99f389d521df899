package ratelimit

import (
	"sync/atomic"
	"time"
)

// Bucket polices one direction of one session: a token bucket of bytes,
// filled at the rate by the monotonic clock, from which each packet takes
// its length; a packet that finds too few tokens is dropped.
//
// The zero Bucket has no limit. Allow is for the one goroutine of its
// direction (the send path's readTUN, the receive path's receiveGRE) and
// takes no lock; Set may run on any goroutine at any time (a RADIUS
// CoA-Request), the next Allow picks the new limit up.
type Bucket struct {
	params atomic.Pointer[params] // nil: no limit

	// Owned by Allow's goroutine.
	cur    *params   // the params tokens were counted for
	epoch  time.Time // the clock's origin (monotonic), set on first use
	last   int64     // ns since epoch of the last refill
	tokens int64     // bytes x 1e9 (so that a nanosecond adds rate bytes)
}

// params is one setting of a Bucket, replaced whole by Set.
type params struct {
	rate     int64 // bytes/s: the tokens one nanosecond adds, x1e9 units
	capacity int64 // bucket size, bytes x 1e9
	bits     uint64
	bucket   uint64
}

// Set limits the bucket to rate bits/s with a bucket of size bytes (0:
// BucketSize(rate, 0, 0, 0)); rate 0 removes the limit.
func (b *Bucket) Set(rate, size uint64) {
	if rate == 0 {
		b.params.Store(nil)
		return
	}
	rate = min(rate, MaxRate)
	if size == 0 {
		size = BucketSize(rate, 0, 0, 0)
	}
	size = min(max(size, MinBucket), MaxBucket)
	b.params.Store(&params{rate: int64(max(rate/8, 1)), capacity: int64(size) * 1e9, bits: rate, bucket: size})
}

// Limit is the rate (bits/s) and bucket size (bytes) in force; 0, 0 when
// none.
func (b *Bucket) Limit() (rate, size uint64) {
	if p := b.params.Load(); p != nil {
		return p.bits, p.bucket
	}
	return 0, 0
}

// Allow takes n bytes from the bucket and says whether the packet may go.
// With no limit it is one atomic load.
func (b *Bucket) Allow(n int) bool {
	p := b.params.Load()
	if p == nil {
		return true
	}
	return b.allow(p, n)
}

func (b *Bucket) allow(p *params, n int) bool {
	if b.epoch.IsZero() {
		b.epoch = time.Now()
	}
	return b.take(p, n, int64(time.Since(b.epoch)))
}

// take is Allow at now, nanoseconds on the bucket's monotonic clock.
func (b *Bucket) take(p *params, n int, now int64) bool {
	if p != b.cur {
		// A new limit (or the first): a full bucket, as after a quiet spell.
		b.cur, b.tokens, b.last = p, p.capacity, now
	}
	if el := now - b.last; el > 0 {
		// el*rate overflows for a long quiet spell: a bucket that would
		// fill is full.
		if el >= (p.capacity-b.tokens)/p.rate+1 {
			b.tokens = p.capacity
		} else {
			b.tokens += el * p.rate
		}
		b.last = now
	}
	cost := int64(n) * 1e9
	if b.tokens < cost {
		return false
	}
	b.tokens -= cost
	return true
}
