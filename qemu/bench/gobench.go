package main

import (
	"bufio"
	"context"
	"crypto/rc4"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Bench is one benchmark's figures, the median of its -count runs.
type Bench struct {
	Name        string
	Runs        int
	NsPerOp     float64
	MBPerS      float64
	AllocsPerOp float64
	Spread      float64 // (max-min)/median of MB/s (or ns/op), a measure of the noise
}

// parseBench reads `go test -bench -benchmem` output: one Bench per name
// (the -N GOMAXPROCS suffix removed), medians over the repeated lines.
func parseBench(out string) map[string]Bench {
	type acc struct{ ns, mbs, allocs []float64 }
	runs := map[string]*acc{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		a := runs[name]
		if a == nil {
			a = &acc{}
			runs[name] = a
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "MB/s":
				a.mbs = append(a.mbs, v)
			case "allocs/op":
				a.allocs = append(a.allocs, v)
			}
		}
	}
	out2 := map[string]Bench{}
	for name, a := range runs {
		b := Bench{Name: name, Runs: len(a.ns), NsPerOp: median(a.ns), MBPerS: median(a.mbs), AllocsPerOp: median(a.allocs)}
		if len(a.mbs) > 0 {
			b.Spread = spread(a.mbs)
		} else {
			b.Spread = spread(a.ns)
		}
		out2[name] = b
	}
	return out2
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(v []float64) float64 {
	m := median(v)
	if m == 0 {
		return 0
	}
	return (slices.Max(v) - slices.Min(v)) / m
}

// goBench runs the benchmarks of pkg that the -bench pattern re matches
// (those present: a missing one is simply absent from the result) on cpus
// cores, -count times.
func goBench(ctx context.Context, pkg, re string, benchtime string, count, cpus int) (map[string]Bench, string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", re, "-benchmem", "-cpu", strconv.Itoa(cpus),
		"-benchtime", benchtime, "-count", strconv.Itoa(count), pkg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, string(out), fmt.Errorf("go test -bench %s %s: %v\n%s", re, pkg, err, out)
	}
	return parseBench(string(out)), string(out), nil
}

// rc4Mbps is the RC4 keystream alone (crypto/rc4 XORKeyStream over a
// 1400-byte packet, one goroutine): the floor under any MPPE, no rekeying.
func rc4Mbps() float64 {
	c, _ := rc4.NewCipher(make([]byte, 16))
	buf := make([]byte, 1400)
	r := testing.Benchmark(func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			c.XORKeyStream(buf, buf)
		}
	})
	return float64(r.Bytes) * float64(r.N) / r.T.Seconds() * 8 / 1e6
}

// benchNames is the -bench pattern of exactly these top-level benchmarks.
// (A pattern for sub-benchmarks is slash-separated, one regexp per level:
// go test splits it before compiling, so it cannot sit inside a group.)
func benchNames(names ...string) string { return "^(" + strings.Join(names, "|") + ")$" }

// mbps converts MB/s (go test's 1e6 bytes) to Mbit/s.
func mbps(mbPerS float64) float64 { return mbPerS * 8 }
