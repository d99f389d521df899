package radius

import (
	"sync/atomic"
	"time"
)

// Monitoring figures beyond Stats: how long servers take to answer, and
// how many accounting records are being sent. Both move once per request,
// never per packet of a session.

// LatencyBounds are the upper bounds of Latency's buckets: from a server
// on the LAN (a few ms) to one answering just before the default 3 s
// timeout.
var LatencyBounds = []time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Latency is the distribution of the time from a request's (last) send to
// its valid reply, over every server and request (auth and accounting).
type Latency struct {
	// Counts[i] is the replies that took at most LatencyBounds[i] (and
	// more than the bound before); the last one, past every bound.
	Counts []uint64
	Count  uint64        // replies
	Sum    time.Duration // their total time
}

// latency is Latency's live form.
type latency struct {
	counts [12]atomic.Uint64 // len(LatencyBounds)+1
	sum    atomic.Int64      // nanoseconds
}

func (l *latency) observe(d time.Duration) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	l.counts[i].Add(1)
	l.sum.Add(int64(d))
}

// Latency returns the reply-time distribution.
func (c *Client) Latency() Latency {
	out := Latency{Counts: make([]uint64, len(LatencyBounds)+1), Sum: time.Duration(c.lat.sum.Load())}
	for i := range out.Counts {
		out.Counts[i] = c.lat.counts[i].Load()
		out.Count += out.Counts[i]
	}
	return out
}

// AcctPending is the accounting queue's depth (acctqueue.go): records
// (Start, Interim-Update, Stop) waiting for a server's answer or for the
// next try.
func (c *Client) AcctPending() int64 { return c.acctPending.Load() }
