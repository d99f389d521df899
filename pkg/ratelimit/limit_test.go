package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Limit
		out  string // String(); "" means in
	}{
		{"2M", Limit{Rate: Pair{2e6, 2e6}, fields: 1}, ""},
		{"512k/2M", Limit{Rate: Pair{512e3, 2e6}, fields: 1}, ""},
		{"1500/1G", Limit{Rate: Pair{1500, 1e9}, fields: 1}, ""},
		{"1000k/2000K", Limit{Rate: Pair{1e6, 2e6}, fields: 1}, "1M/2M"},
		{"0/10M", Limit{Rate: Pair{0, 10e6}, fields: 1}, ""},
		{"1M/2M 2M/4M 1500k/3M 10/20s 8 512k/1M", Limit{
			Rate: Pair{1e6, 2e6}, BurstRate: Pair{2e6, 4e6}, Threshold: Pair{1.5e6, 3e6},
			BurstTime: [2]time.Duration{10 * time.Second, 20 * time.Second}, Priority: 8,
			RateMin: Pair{512e3, 1e6}, fields: 6,
		}, "1M/2M 2M/4M 1500k/3M 10/20 8 512k/1M"},
		{"  1M   2M  ", Limit{Rate: Pair{1e6, 1e6}, BurstRate: Pair{2e6, 2e6}, fields: 2}, "1M 2M"},
	} {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		out := tt.out
		if out == "" {
			out = tt.in
		}
		if s := got.String(); s != out {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, out)
		}
	}
	for _, bad := range []string{
		"", " ", "M", "2m", "1.5M", "-1", "1M/", "/1M", "1M/2M/3M", "1M x", "1M 2M 3M 4M 9",
		"1M 2M 3M 4M 0", "1M 2M 3M 4h", "1M 2M 3M 3601", "101G", "1000000000000", "1 2 3 4 5 6 7",
	} {
		if l, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, l)
		} else if !strings.HasPrefix(err.Error(), "ratelimit: ") {
			t.Errorf("Parse(%q): error %q without the package prefix", bad, err)
		}
	}
}

func TestBucketSize(t *testing.T) {
	for _, tt := range []struct {
		rate, burst, threshold uint64
		time                   time.Duration
		want                   uint64
	}{
		{0, 0, 0, 0, 0},
		{2e6, 0, 0, 0, 125_000},                  // 500 ms of 2 Mbit/s
		{64e3, 0, 0, 0, MinBucket},               // 4000 bytes is less than a few frames
		{2e6, 1e6, 0, 10 * time.Second, 125_000}, // a burst-rate below the rate is none
		// From quiet the average over 10 s reaches 3 Mbit/s after
		// 3e6*10/4e6 = 7.5 s at 4 Mbit/s: 2 Mbit/s over the rate for 7.5 s
		// is 1.875 MB beyond the 125,000 of the bucket.
		{2e6, 4e6, 3e6, 10 * time.Second, 125_000 + 1_875_000},
		// Without a threshold, the rate: 2e6*10/4e6 = 5 s, 1.25 MB.
		{2e6, 4e6, 0, 10 * time.Second, 125_000 + 1_250_000},
	} {
		if got := BucketSize(tt.rate, tt.burst, tt.threshold, tt.time); got != tt.want {
			t.Errorf("BucketSize(%d, %d, %d, %v) = %d, want %d", tt.rate, tt.burst, tt.threshold, tt.time, got, tt.want)
		}
	}
	l, _ := Parse("1M/2M 0/4M 0/3M 0/10")
	if rx, tx := l.RxBucket(), l.TxBucket(); rx != 62_500 || tx != 125_000+1_875_000 {
		t.Errorf("buckets %d/%d", rx, tx)
	}
}

// FuzzParse: what Parse accepts, String writes back so that Parse reads the
// same Limit (netlink's round-trip property), with sane buckets.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2M", "512k/2M", "1M/2M 2M/4M 1500k/3M 10/20 8 512k/1M", "0", "100G/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(s)
		if err != nil {
			return
		}
		out := l.String()
		back, err := Parse(out)
		if err != nil || back != l {
			t.Fatalf("Parse(%q) = %+v; its String %q parses as %+v, %v", s, l, out, back, err)
		}
		if back.String() != out {
			t.Fatalf("String not stable: %q, %q", out, back.String())
		}
		for _, r := range []uint64{l.Rate.Rx, l.Rate.Tx, l.BurstRate.Rx, l.Threshold.Tx, l.RateMin.Rx} {
			if r > MaxRate {
				t.Fatalf("rate %d over MaxRate", r)
			}
		}
		if (l.Rate.Rx == 0) != (l.RxBucket() == 0) || l.RxBucket() > MaxBucket {
			t.Fatalf("rx bucket %d for %+v", l.RxBucket(), l)
		}
	})
}
