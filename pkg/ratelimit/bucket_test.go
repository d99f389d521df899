package ratelimit

import (
	"testing"
	"time"
)

func TestBucketZeroAllows(t *testing.T) {
	var b Bucket
	for range 1000 {
		if !b.Allow(65535) {
			t.Fatal("the zero Bucket refused a packet")
		}
	}
	if r, s := b.Limit(); r != 0 || s != 0 {
		t.Errorf("Limit() = %d, %d", r, s)
	}
}

// TestBucketTake drives the bucket on a made-up clock: 8000 bits/s (1000
// bytes/s) with a 6000-byte bucket.
func TestBucketTake(t *testing.T) {
	var b Bucket
	b.Set(8000, 6000)
	p := b.params.Load()
	ms := int64(time.Millisecond)
	steps := []struct {
		at   int64
		n    int
		want bool
	}{
		{0, 6000, true},        // a full bucket at first
		{0, 1, false},          // empty
		{500 * ms, 600, false}, // 500 bytes came in
		{500 * ms, 500, true},
		{1500 * ms, 1000, true},
		{1500 * ms, 1, false},
		{3600_000 * ms, 6001, false}, // an hour of quiet fills the bucket, no more
		{3600_000 * ms, 6000, true},
	}
	for i, s := range steps {
		if got := b.take(p, s.n, s.at); got != s.want {
			t.Fatalf("step %d: take(%d) at %v = %v, want %v", i, s.n, time.Duration(s.at), got, s.want)
		}
	}
	// A new limit starts full; 0 lifts it.
	b.Set(8000, 0)
	if r, s := b.Limit(); r != 8000 || s != MinBucket {
		t.Errorf("Limit() = %d, %d; want 8000, %d", r, s, MinBucket)
	}
	q := b.params.Load()
	if !b.take(q, MinBucket, 3600_000*ms) || b.take(q, 1, 3600_000*ms) {
		t.Error("a new limit does not start with a full bucket of its size")
	}
	b.Set(0, 0)
	if !b.Allow(1 << 20) {
		t.Error("Set(0, 0) did not lift the limit")
	}
}

// TestBucketAverage: a sender offering twice the rate for 10 s (made-up
// clock, a 1400-byte packet every 2.8 ms) gets the rate and the bucket
// through, within a packet.
func TestBucketAverage(t *testing.T) {
	var b Bucket
	const rate = 2_000_000 // bits/s: 250,000 bytes/s
	b.Set(rate, 0)
	p := b.params.Load()
	var passed int64
	for at := int64(1); at <= int64(10*time.Second); at += int64(2800 * time.Microsecond) {
		if b.take(p, 1400, at) {
			passed += 1400
		}
	}
	want := int64(rate/8*10) + int64(BucketSize(rate, 0, 0, 0))
	if passed > want || passed < want-1400 {
		t.Errorf("passed %d bytes in 10 s, want %d (within one packet below)", passed, want)
	}
}

func TestBucketAllocs(t *testing.T) {
	var limited, free Bucket
	limited.Set(1e6, 0)
	if n := testing.AllocsPerRun(1000, func() { limited.Allow(1400); free.Allow(1400) }); n != 0 {
		t.Errorf("%v allocations per Allow", n)
	}
}

func BenchmarkAllowUnlimited(b *testing.B) {
	var bk Bucket
	for b.Loop() {
		bk.Allow(1400)
	}
}

func BenchmarkAllowLimited(b *testing.B) {
	var bk Bucket
	bk.Set(MaxRate, 0)
	for b.Loop() {
		bk.Allow(1400)
	}
}

// TestBucketSetWhileAllowing: Set on another goroutine (a CoA) while the
// path's goroutine polices (run with -race): each Allow sees one whole
// setting, and the last one stays.
func TestBucketSetWhileAllowing(t *testing.T) {
	var b Bucket
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10000 {
			b.Set(uint64(i%3)*8e6, 0) // off, 8M, 16M
		}
		b.Set(8000, 6000)
	}()
	for range 100000 {
		b.Allow(1400)
	}
	<-done
	if r, s := b.Limit(); r != 8000 || s != 6000 {
		t.Fatalf("Limit() = %d, %d after the last Set", r, s)
	}
	passed := 0
	for range 10 {
		if b.Allow(1400) {
			passed++
		}
	}
	if passed != 4 {
		t.Errorf("%d packets of 1400 through a fresh 6000-byte bucket, want 4", passed)
	}
}
