package main

import (
	"math"
	"testing"
)

const benchOut = `goos: linux
goarch: amd64
pkg: github.com/pptpbox/pptpbox/pkg/mppe
cpu: Intel(R) Xeon(R) CPU
BenchmarkEncryptStateless         	  200000	      6195 ns/op	 226.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkEncryptStateless         	  200000	      6000 ns/op	 230.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkEncryptStateless         	  200000	      6500 ns/op	 220.00 MB/s	       0 B/op	       0 allocs/op
BenchmarkServerSend-2   	  100000	  6000 ns/op	 216.5 MB/s	      16 B/op	       1 allocs/op
BenchmarkServerParallel/receive/sessions=16-2   	   20000	      2300 ns/op	 608.70 MB/s	      4.70 cpu-ns/op	       1.890 cores	       0 B/op	       0 allocs/op
BenchmarkDecryptStateless
BenchmarkTypo notanumber
PASS
ok  	github.com/pptpbox/pptpbox/pkg/mppe	5.1s
`

func TestParseBench(t *testing.T) {
	got := parseBench(benchOut)
	if len(got) != 3 {
		t.Fatalf("got %d benchmarks, want 3: %+v", len(got), got)
	}
	e := got["BenchmarkEncryptStateless"]
	if e.Runs != 3 || e.MBPerS != 226 || e.NsPerOp != 6195 || e.AllocsPerOp != 0 {
		t.Errorf("EncryptStateless: %+v", e)
	}
	if want := 10.0 / 226; math.Abs(e.Spread-want) > 1e-9 {
		t.Errorf("spread %v, want %v", e.Spread, want)
	}
	s, ok := got["BenchmarkServerSend"]
	if !ok || s.AllocsPerOp != 1 || s.MBPerS != 216.5 {
		t.Errorf("ServerSend (GOMAXPROCS suffix removed): %+v %v", s, ok)
	}
	p, ok := got["BenchmarkServerParallel/receive/sessions=16"]
	if !ok || p.MBPerS != 608.7 || p.NsPerOp != 2300 || p.AllocsPerOp != 0 {
		t.Errorf("a sub-benchmark with extra metrics (cores, cpu-ns/op): %+v %v", p, ok)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
