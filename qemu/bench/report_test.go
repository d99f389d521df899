package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Kernel: "6.1.0", GoVersion: "go1.26", Date: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)},
		Rows: []Row{
			{ID: 1, Name: "crypto", Result: "RC4 2000 Mbit/s", Seconds: 3.2},
			{ID: 5, Name: "idle", Result: "12 KiB", Goal: "≤ 20 KiB", Met: met(true), Seconds: 40},
			{ID: 6, Name: "allocs", Goal: "0", Met: met(false), Result: "send 1"},
			{ID: 7, Name: "qemu", Skipped: "BENCH_QEMU=0"},
		},
		CryptoRC4Mbps:   ptr(2000.0),
		AllocsPerPacket: ptr(0.0),
		Parallel: []Parallel{{Sessions: 1, DeliveredMbps: 400, RatioToOne: 1}, {Sessions: 2, DeliveredMbps: 700, RatioToOne: 0.875},
			{Sessions: 16, DeliveredMbps: 720}, {Sessions: 256, DeliveredMbps: 650}},
		IdleSeries: []IdlePoint{{0, 20e6, 18e6, 30}, {5000, 80e6, 78e6, 5030}, {10000, 140e6, 138e6, 10030}},
	}
}

// TestReportJSONKeys: measured figures appear under their issue-13 names,
// figures not measured are left out rather than written as 0.
func TestReportJSONKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := sampleReport().WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"machine", "rows", "crypto_rc4_mbps", "allocs_per_packet", "parallel", "idle_series"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	for _, k := range []string{"logins_per_second_local", "rss_per_session_bytes", "qemu_boxd_over_pptpd", "crypto_mppe_stateless_reference_mbps"} {
		if _, ok := m[k]; ok {
			t.Errorf("key %q present though not measured", k)
		}
	}
	if v := m["allocs_per_packet"]; v != 0.0 {
		t.Errorf("allocs_per_packet = %v: a measured 0 must be written", v)
	}
	mach := m["machine"].(map[string]any)
	for _, k := range []string{"cpu", "cores", "kernel", "go_version", "date"} {
		if _, ok := mach[k]; !ok {
			t.Errorf("machine.%s missing", k)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Rows) != 4 || *back.Rows[1].Met != true || back.Rows[0].Met != nil {
		t.Errorf("round trip: %v %+v", err, back.Rows)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	sampleReport().Table(&b)
	out := b.String()
	for _, want := range []string{
		"machine: Test CPU, 2 cores, Linux 6.1.0, go1.26, 2026-12-03T08:00:00Z",
		"RC4 2000 Mbit/s", "skipped: BENCH_QEMU=0", "n/a",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want machine + header + 4 rows:\n%s", len(lines), out)
	}
	// Aligned columns: the "met" verdicts start at the same offset.
	col := strings.Index(lines[1], "met") // the header is ASCII: bytes are columns
	if !strings.HasPrefix(string([]rune(lines[3])[col:]), "yes") || !strings.HasPrefix(string([]rune(lines[4])[col:]), "NO") {
		t.Errorf("met column not aligned at %d:\n%s", col, out)
	}
	var md bytes.Buffer
	sampleReport().Markdown(&md)
	if !strings.Contains(md.String(), "| 6 | allocs | send 1 | 0 | **no** | 0 s |") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

// TestPlot: the SVG is well-formed XML with one data line per panel; a
// report without rows 3 and 5 says they were not measured.
func TestPlot(t *testing.T) {
	check := func(svg string) {
		t.Helper()
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("not XML: %v\n%s", err, svg)
			}
		}
	}
	svg := Plot(sampleReport())
	check(svg)
	if n := strings.Count(svg, `stroke="#1f5fbf"`); n != 2 {
		t.Errorf("%d data lines, want 2", n)
	}
	if n := strings.Count(svg, "<circle"); n != 7 {
		t.Errorf("%d points, want 4 + 3", n)
	}
	empty := Plot(&Report{Machine: Machine{CPU: "a<b"}})
	check(empty)
	if strings.Count(empty, "not measured") != 2 {
		t.Errorf("empty plot:\n%s", empty)
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.7: 1, 3: 5, 12: 20, 750: 1000, 1001: 2000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestCPUModel(t *testing.T) {
	if got := cpuModel("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags: x\n"); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel("processor: 0\n"); got != "unknown" {
		t.Errorf("cpuModel without model = %q", got)
	}
}

func TestParseLinkRx(t *testing.T) {
	out := `[{"ifindex":5,"ifname":"pptpb0","stats64":{"rx":{"bytes":140000,"packets":100,"errors":0},"tx":{"bytes":1,"packets":1}}}]`
	p, b, err := parseLinkRx(out)
	if err != nil || p != 100 || b != 140000 {
		t.Errorf("parseLinkRx = %d %d %v", p, b, err)
	}
	if _, _, err := parseLinkRx("[]"); err == nil {
		t.Error("no link: no error")
	}
}

func TestKBField(t *testing.T) {
	status := "Name:\tboxd\nVmPeak:\t  2000 kB\nVmRSS:\t   1234 kB\n"
	if got := kbField(status, "VmRSS:"); got != 1234*1024 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := kbField(status, "Pss:"); got != 0 {
		t.Errorf("absent field = %d", got)
	}
}

// TestTB: the testing.TB stand-in turns Fatal into an error and runs
// cleanups last registered first.
func TestTB(t *testing.T) {
	var order []int
	cleanup, err := runTB(t.TempDir(), func(tb testing.TB) {
		tb.Cleanup(func() { order = append(order, 1) })
		tb.Cleanup(func() { order = append(order, 2) })
		if d := tb.TempDir(); d == "" {
			t.Error("no temp dir")
		}
		tb.Fatalf("stop %d", 7)
		t.Error("Fatalf returned")
	})
	if err == nil || err.Error() != "stop 7" {
		t.Errorf("err = %v", err)
	}
	cleanup()
	if len(order) != 2 || order[0] != 2 {
		t.Errorf("cleanup order %v", order)
	}
}
