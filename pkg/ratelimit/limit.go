// Package ratelimit is the per-session rate limit of the userspace
// dataplane: a session's limit (Limit), written as MikroTik's
// Mikrotik-Rate-Limit attribute is (Parse, String), and the token bucket
// that polices one direction of a session (Bucket).
//
// # Directions
//
// As MikroTik's, from the box's view of the client: rx is what the box
// receives from the client (its upload), tx what it sends to the client
// (its download). WISPr-Bandwidth-Max-Up is rx, -Down is tx.
//
// # Policing
//
// Over the limit a packet is dropped, never queued: the dataplane has no
// queue to hold it, and TCP backs off to the rate on the drops. The bucket
// holds the burst (Limit.Bucket): a client that was quiet may send that
// many bytes at once.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is one session's rate limit, the fields of a Mikrotik-Rate-Limit
// value: "rx-rate[/tx-rate] [rx-burst-rate[/tx-burst-rate]
// [rx-burst-threshold[/tx-burst-threshold] [rx-burst-time[/tx-burst-time]
// [priority] [rx-rate-min[/tx-rate-min]]]]]". Rates are bits/s; 0 is no
// limit. The zero Limit limits nothing.
type Limit struct {
	Rate      Pair             // the limit, bits/s
	BurstRate Pair             // MikroTik's burst-rate, bits/s (0: no burst)
	Threshold Pair             // MikroTik's burst-threshold, bits/s
	BurstTime [2]time.Duration // MikroTik's burst-time, rx and tx
	Priority  int              // 1..8, 0 unset: parsed, not used (one class per session)
	RateMin   Pair             // MikroTik's limit-at: parsed, not used (no queue to guarantee from)
	fields    int              // how many fields Parse read (String writes as many)
}

// Pair is a value for each direction: Rx from the client, Tx to it.
type Pair struct{ Rx, Tx uint64 }

// MaxRate bounds every rate: 100 Gbit/s, far above a PPTP session and low
// enough that the bucket's arithmetic (bytes x 1e9) cannot overflow.
const MaxRate = 100_000_000_000

// IsZero says whether l limits nothing.
func (l Limit) IsZero() bool { return l.Rate == Pair{} }

// Rates is a limit of rx and tx bits/s with no burst: what
// WISPr-Bandwidth-Max-Up/Down give.
func Rates(rx, tx uint64) Limit {
	return Limit{Rate: Pair{min(rx, MaxRate), min(tx, MaxRate)}, fields: 1}
}

// DefaultBurstTime is the bucket a rate gets without MikroTik burst
// fields: this long at the rate. TCP through a policer keeps close to the
// rate when the bucket holds at least a round trip's worth at the rate,
// and, on short round trips, enough for its loss recovery to find tokens:
// with 100 ms a TCP transfer through a 2 Mbit/s limit on a LAN got half
// the rate (retransmissions dropped too, then timeouts), with 500 ms
// within 1% (cmd/boxd TestBoxdRateLimit), with 1.5 s 8% over it in the
// first 10 s (the full bucket at the start).
const DefaultBurstTime = 500 * time.Millisecond

// MaxBucket is the largest bucket, 1 GiB: the bucket's arithmetic (bytes
// x 1e9) stays far from overflow.
const MaxBucket = 1 << 30

// MinBucket is the smallest bucket: a few full-size frames, so that a
// slow limit still passes a packet of the largest MTU.
const MinBucket = 4 * 1500

// BucketSize is the bucket size in bytes for rate (bits/s) with MikroTik's
// burst fields (all but rate may be 0).
//
// MikroTik lets a client send at burst-rate while its average over the
// last burst-time stays below burst-threshold (the rate when not given).
// From quiet that lasts d = threshold*burst-time/burst-rate, in which the
// client sends (burst-rate-rate)*d beyond the rate: the bucket holds that
// much on top of the default. A policer does not cap the peak at
// burst-rate: the burst leaves at the speed it arrives.
func BucketSize(rate, burstRate, threshold uint64, burstTime time.Duration) uint64 {
	if rate == 0 {
		return 0
	}
	b := max(rate/8*uint64(DefaultBurstTime)/uint64(time.Second), MinBucket)
	if burstRate > rate && burstTime > 0 {
		if threshold == 0 {
			threshold = rate
		}
		// bits: (B-r) * T*t/B; in float64, the product overflows uint64.
		extra := float64(burstRate-rate) * float64(threshold) * burstTime.Seconds() / float64(burstRate) / 8
		b += uint64(min(extra, MaxBucket))
	}
	return min(b, MaxBucket)
}

// RxBucket and TxBucket are the bucket sizes of each direction.
func (l Limit) RxBucket() uint64 {
	return BucketSize(l.Rate.Rx, l.BurstRate.Rx, l.Threshold.Rx, l.BurstTime[0])
}
func (l Limit) TxBucket() uint64 {
	return BucketSize(l.Rate.Tx, l.BurstRate.Tx, l.Threshold.Tx, l.BurstTime[1])
}

// Parse reads a Mikrotik-Rate-Limit value (the [[user]] and [pptp]
// rate_limit keys use the same syntax). Rates are integers with an optional
// k (x1000), M (x1e6) or G (x1e9) suffix; burst-times are seconds, with an
// optional "s". A field without "/tx" gives tx the rx value.
func Parse(s string) (Limit, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Limit{}, errors.New("ratelimit: empty")
	}
	if len(f) > 6 {
		return Limit{}, fmt.Errorf("ratelimit: %d fields, at most 6", len(f))
	}
	l := Limit{fields: len(f)}
	var err error
	rates := []*Pair{&l.Rate, &l.BurstRate, &l.Threshold}
	for i, p := range rates {
		if i < len(f) {
			if *p, err = pair(f[i], rate); err != nil {
				return Limit{}, fmt.Errorf("ratelimit: field %d %q: %w", i+1, f[i], err)
			}
		}
	}
	if len(f) > 3 {
		t, err := pair(f[3], seconds)
		if err != nil {
			return Limit{}, fmt.Errorf("ratelimit: burst-time %q: %w", f[3], err)
		}
		l.BurstTime = [2]time.Duration{time.Duration(t.Rx) * time.Second, time.Duration(t.Tx) * time.Second}
	}
	if len(f) > 4 {
		p, err := strconv.Atoi(f[4])
		if err != nil || p < 1 || p > 8 {
			return Limit{}, fmt.Errorf("ratelimit: priority %q: want 1 to 8", f[4])
		}
		l.Priority = p
	}
	if len(f) > 5 {
		if l.RateMin, err = pair(f[5], rate); err != nil {
			return Limit{}, fmt.Errorf("ratelimit: rate-min %q: %w", f[5], err)
		}
	}
	return l, nil
}

// pair reads "rx[/tx]" with one.
func pair(s string, one func(string) (uint64, error)) (Pair, error) {
	rx, tx, two := strings.Cut(s, "/")
	var p Pair
	var err error
	if p.Rx, err = one(rx); err != nil {
		return Pair{}, err
	}
	p.Tx = p.Rx
	if two {
		if p.Tx, err = one(tx); err != nil {
			return Pair{}, err
		}
	}
	return p, nil
}

// rate reads bits/s: digits and an optional k, M or G.
func rate(s string) (uint64, error) {
	mul := uint64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mul = 1_000
		case 'M':
			mul = 1_000_000
		case 'G':
			mul = 1_000_000_000
		}
		if mul != 1 {
			s = s[:n-1]
		}
	}
	v, err := digits(s)
	if err != nil {
		return 0, err
	}
	if v > MaxRate/mul {
		return 0, fmt.Errorf("over %d bits/s", uint64(MaxRate))
	}
	return v * mul, nil
}

// maxBurstTime bounds burst-time (MikroTik's own limit is far lower).
const maxBurstTime = 3600

// seconds reads a burst-time: whole seconds, an optional "s".
func seconds(s string) (uint64, error) {
	v, err := digits(strings.TrimSuffix(s, "s"))
	if err != nil {
		return 0, err
	}
	if v > maxBurstTime {
		return 0, fmt.Errorf("over %d seconds", maxBurstTime)
	}
	return v, nil
}

func digits(s string) (uint64, error) {
	if s == "" || len(s) > 12 {
		return 0, errors.New("want a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("want a number")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// String writes l as Parse reads it, as many fields as it was given, rates
// with the largest exact k/M/G suffix: Parse(l.String()) is l.
func (l Limit) String() string {
	n := max(l.fields, 1)
	var b strings.Builder
	b.WriteString(formatPair(l.Rate, formatRate))
	if n > 1 {
		b.WriteString(" " + formatPair(l.BurstRate, formatRate))
	}
	if n > 2 {
		b.WriteString(" " + formatPair(l.Threshold, formatRate))
	}
	if n > 3 {
		t := Pair{uint64(l.BurstTime[0] / time.Second), uint64(l.BurstTime[1] / time.Second)}
		b.WriteString(" " + formatPair(t, func(v uint64) string { return strconv.FormatUint(v, 10) }))
	}
	if n > 4 {
		b.WriteString(" " + strconv.Itoa(l.Priority))
	}
	if n > 5 {
		b.WriteString(" " + formatPair(l.RateMin, formatRate))
	}
	return b.String()
}

func formatPair(p Pair, f func(uint64) string) string {
	if p.Rx == p.Tx {
		return f(p.Rx)
	}
	return f(p.Rx) + "/" + f(p.Tx)
}

// formatRate writes bits/s with the largest suffix that keeps it exact.
func formatRate(v uint64) string {
	switch {
	case v == 0:
		return "0"
	case v%1_000_000_000 == 0:
		return strconv.FormatUint(v/1_000_000_000, 10) + "G"
	case v%1_000_000 == 0:
		return strconv.FormatUint(v/1_000_000, 10) + "M"
	case v%1_000 == 0:
		return strconv.FormatUint(v/1_000, 10) + "k"
	}
	return strconv.FormatUint(v, 10)
}
