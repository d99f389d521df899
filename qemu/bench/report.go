package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is out/bench.json: every figure of one run, under keys that name
// what they hold. A key whose figure could not be measured (a benchmark
// that does not exist in this tree, a row skipped) is left out; Rows says
// why.
type Report struct {
	Machine Machine `json:"machine"`
	Rows    []Row   `json:"rows"`

	// (1) one core, 1400-byte packets.
	CryptoRC4Mbps                    *float64 `json:"crypto_rc4_mbps,omitempty"`
	CryptoMPPEStatelessMbps          *float64 `json:"crypto_mppe_stateless_mbps,omitempty"`
	CryptoMPPEStatelessDecryptMbps   *float64 `json:"crypto_mppe_stateless_decrypt_mbps,omitempty"`
	CryptoMPPEStatelessReferenceMbps *float64 `json:"crypto_mppe_stateless_reference_mbps,omitempty"`
	MPPESpeedupOverReference         *float64 `json:"mppe_speedup_over_reference,omitempty"`

	// (2) one session, real processes.
	Single                  *Single  `json:"single_session,omitempty"`
	ThroughputRatioToCrypto *float64 `json:"throughput_ratio_to_crypto,omitempty"`

	// (3) N sessions, pptpc traffic mode.
	Parallel []Parallel `json:"parallel,omitempty"`

	// (4) logins through the whole stack.
	LoginsPerSecondLocal  *float64 `json:"logins_per_second_local,omitempty"`
	LoginP50Ms            *float64 `json:"login_p50_ms,omitempty"`
	LoginP99Ms            *float64 `json:"login_p99_ms,omitempty"`
	LoginsPerSecondRadius *float64 `json:"logins_per_second_radius,omitempty"`
	LoginRadiusP50Ms      *float64 `json:"login_radius_p50_ms,omitempty"`
	LoginRadiusP99Ms      *float64 `json:"login_radius_p99_ms,omitempty"`

	// (5) idle sessions held.
	IdleSessions         *int        `json:"idle_sessions,omitempty"`
	RSSPerSessionBytes   *float64    `json:"rss_per_session_bytes,omitempty"`
	PssPerSessionBytes   *float64    `json:"pss_per_session_bytes,omitempty"`
	GoroutinesPerSession *float64    `json:"goroutines_per_session,omitempty"`
	IdleUpSeconds        *float64    `json:"idle_up_seconds,omitempty"`
	IdleDownSeconds      *float64    `json:"idle_down_seconds,omitempty"`
	IdleSeries           []IdlePoint `json:"idle_series,omitempty"`

	// (6) steady state, per forwarded packet.
	AllocsPerPacket        *float64 `json:"allocs_per_packet,omitempty"`
	AllocsPerPacketSend    *float64 `json:"allocs_per_packet_send,omitempty"`
	AllocsPerPacketReceive *float64 `json:"allocs_per_packet_receive,omitempty"`
	// The in-process sharded server on every core (pkg/session's
	// BenchmarkServerParallel), beside the one-loop shape.
	ServerParallel *ServerParallel `json:"server_parallel,omitempty"`

	// (7) the pppd guest through boxd and through pptpd.
	QEMU              *QEMU    `json:"qemu,omitempty"`
	QEMUBoxdOverPPTPD *float64 `json:"qemu_boxd_over_pptpd,omitempty"`
}

// ServerParallel is pkg/session's BenchmarkServerParallel[OneLoop] on
// every core: Mbit/s by "receive/sessions=16" (and "OneLoop/…"), and the
// ratio of 16 sessions to 1 per direction.
type ServerParallel struct {
	Mbps         map[string]float64 `json:"mbps"`
	Ratio        map[string]float64 `json:"ratio_16_to_1"`
	RatioOneLoop map[string]float64 `json:"ratio_16_to_1_one_loop"`
	AllocsPerOp  float64            `json:"allocs_per_packet"`
}

// Machine is where the run happened.
type Machine struct {
	CPU       string    `json:"cpu"`
	Cores     int       `json:"cores"`
	Kernel    string    `json:"kernel"`
	GoVersion string    `json:"go_version"`
	Commit    string    `json:"commit,omitempty"`
	Date      time.Time `json:"date"`
}

// Row is one line of the table: a row of issue 13, its figure in words,
// its goal, whether the goal is met, and how long the row took.
type Row struct {
	ID      int     `json:"id"`
	Name    string  `json:"name"`
	Result  string  `json:"result"`
	Goal    string  `json:"goal,omitempty"`
	Met     *bool   `json:"met,omitempty"` // nil: no goal, or not measured
	Skipped string  `json:"skipped,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Single is one session's throughput (2), Mbit/s of IP packets (UDP) or
// of TCP payload, up = client to box.
type Single struct {
	TCPUpMbps   float64 `json:"tcp_up_mbps"`
	TCPDownMbps float64 `json:"tcp_down_mbps"`
	UDPUpMbps   float64 `json:"udp_up_mbps"`
	UDPDownMbps float64 `json:"udp_down_mbps"`
	// Ratios of each to the one-core crypto bound (decrypt for up,
	// encrypt for down: boxd's side of each direction).
	Ratios map[string]float64 `json:"ratios_to_crypto"`
}

// Parallel is (3) at one N: what boxd delivered to its TUN per second.
type Parallel struct {
	Sessions      int     `json:"sessions"`
	OfferedMbps   float64 `json:"offered_mbps"`
	DeliveredMbps float64 `json:"delivered_mbps"`
	// RatioToOne is DeliveredMbps over min(N, cores) times N=1's.
	RatioToOne float64 `json:"ratio_to_min_n_cores_x_one"`
	Loss       float64 `json:"loss"` // packets offered and not delivered, fraction
	// PeakMbps is the most any try of the rate search delivered, loss or
	// not: the capacity when drops spread over many sessions.
	PeakMbps float64 `json:"peak_delivered_mbps"`
	// BoxdCores is the CPU boxd used while the counted run sent (user +
	// system, in cores), BusyCores the whole machine's: the rest of
	// BusyCores is the generator's and the kernel's share of a packet on
	// the same cores.
	BoxdCores float64 `json:"boxd_cores"`
	BusyCores float64 `json:"busy_cores"`
}

// IdlePoint is boxd's memory with Sessions idle sessions up.
type IdlePoint struct {
	Sessions   int   `json:"sessions"`
	RSSBytes   int64 `json:"rss_bytes"`
	PssBytes   int64 `json:"pss_bytes"`
	Goroutines int   `json:"goroutines"`
}

// QEMU is (7): Debian's pppd client in a guest, through boxd and through
// Debian's pptpd in a second guest, MB/s of TCP payload.
type QEMU struct {
	BoxdUpMBps    float64 `json:"boxd_up_mbytes_per_s"`
	BoxdDownMBps  float64 `json:"boxd_down_mbytes_per_s"`
	PPTPDUpMBps   float64 `json:"pptpd_up_mbytes_per_s"`
	PPTPDDownMBps float64 `json:"pptpd_down_mbytes_per_s"`
}

func ptr[T any](v T) *T { return &v }

// met is a goal's verdict.
func met(ok bool) *bool { return &ok }

// machine describes this machine.
func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC().Truncate(time.Second)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	for _, l := range strings.Split(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// WriteJSON writes the report, indented.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Table prints the rows as an aligned text table, the machine first.
func (r *Report) Table(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %s, %d cores, Linux %s, %s, %s\n", m.CPU, m.Cores, m.Kernel, m.GoVersion, m.Date.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\trow\tresult\tgoal\tmet\ttime")
	for _, row := range r.Rows {
		result, verdict := row.Result, "-"
		if row.Skipped != "" {
			result, verdict = "skipped: "+row.Skipped, "n/a"
		}
		if row.Met != nil {
			verdict = map[bool]string{true: "yes", false: "NO"}[*row.Met]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.0fs\n", row.ID, row.Name, result, dash(row.Goal), verdict, row.Seconds)
	}
	tw.Flush()
}

// Markdown is the table for the README.
func (r *Report) Markdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "Measured %s on %s (%d cores), Linux %s, %s.\n\n", m.Date.Format("2006-01-02"), m.CPU, m.Cores, m.Kernel, m.GoVersion)
	fmt.Fprintln(w, "| # | row | result | goal | met | time |")
	fmt.Fprintln(w, "|---|-----|--------|------|-----|------|")
	for _, row := range r.Rows {
		result, verdict := row.Result, "–"
		if row.Skipped != "" {
			result, verdict = "skipped: "+row.Skipped, "n/a"
		}
		if row.Met != nil {
			verdict = map[bool]string{true: "yes", false: "**no**"}[*row.Met]
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %.0f s |\n", row.ID, row.Name, result, dash(row.Goal), verdict, row.Seconds)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
