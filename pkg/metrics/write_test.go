package metrics

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

func fakeSnapshot() Snapshot {
	return Snapshot{
		Version: "v1.2.3",
		PPTP: &PPTP{
			SessionsUp: 2, SessionsStarting: 1, ControlConns: 3, PoolSize: 191, PoolInUse: 2,
			LoginsOK:      7,
			LoginFailures: []control.Counter{{Name: "bad_password", Value: 4}, {Name: "radius_timeout", Value: 1}},
			BytesIn:       1000, BytesOut: 2000, PktsIn: 10, PktsOut: 20,
			Drops:         []control.Counter{{Name: "gre_malformed", Value: 5}},
			ControlErrors: []control.Counter{{Name: "bad_magic", Value: 6}},
			Refusals:      []control.Counter{{Name: "conns_per_source", Value: 8}},
			MTU:           []control.Counter{{Name: "fragmented", Value: 9}},
			CallsOpened:   11, MaxConns: 512, GuardDelayed: 15,
			GuardEntries: []control.Counter{{Name: "sources", Value: 12}},
			Sessions: []control.Session{{User: `al"i\ce`, Peer: "198.51.100.7", IP: "10.79.97.10", CallID: 4242,
				MPPE: "MPPE 128-bit stateless", Uptime: 90 * time.Second, BytesIn: 600, BytesOut: 1200, PktsIn: 6, PktsOut: 12}},
		},
		Radius: &Radius{
			Counters: control.RadiusCounters{Requests: 30, Timeouts: 3, Accepts: 20, Rejects: 5, Unreachable: 1,
				BadReplies: 4, UnsignedReplies: 1, BadMsgAuth: 2, AcctSent: 15, AcctLost: 2, InFlight: 1, AcctSpooled: 3, AcctDropped: 4,
				DAEACKs: 1, DAENAKs: 2, DAEDropped: 3, DAEStale: 2},
			Servers: []control.RadiusServer{{Address: "192.0.2.10:1812", Role: "auth+acct", Up: true, Requests: 25,
				Timeouts: 2, LastRTT: 20 * time.Millisecond, AvgRTT: 15 * time.Millisecond}},
			Latency: Histogram{Bounds: []time.Duration{10 * time.Millisecond, 100 * time.Millisecond},
				Counts: []uint64{3, 2, 1}, Count: 6, Sum: 1500 * time.Millisecond},
			AcctPending: 2,
		},
		Firewall: []Firewall{{Name: "wan_in_dropped", Packets: 13, Bytes: 1300}},
		DHCP:     &DHCP{Leases: 4, Counters: []control.Counter{{Name: "lease_writes", Value: 14}}},
		Clock:    &control.Clock{Synced: true, Offset: -1500 * time.Millisecond, Steps: 2},
		Syslog:   &control.Syslog{Server: "192.0.2.9:514", Sent: 30, Dropped: 3},
		DialOuts: []control.DialOut{{Name: "hq", State: "up", Connects: 3}, {Name: "dc", State: "backoff", Connects: 0}},
	}
}

// scrape runs the handler and returns its samples by series (name and
// labels as written) and the families declared by HELP/TYPE.
func scrape(t *testing.T, s Snapshot) (samples map[string]float64, types map[string]string, body string) {
	t.Helper()
	srv := httptest.NewServer(Handler(func(context.Context) Snapshot { return s }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	samples, types = map[string]float64{}, map[string]string{}
	help := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(f, " ")
			if strings.HasPrefix(name, "pptpbox_") && text == "" {
				t.Errorf("%s: empty HELP", name)
			}
			help[name] = true
			continue
		}
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			if _, dup := types[name]; dup {
				t.Errorf("%s declared twice", name)
			}
			types[name] = typ
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		series := line[:i]
		if _, dup := samples[series]; dup {
			t.Errorf("series %s written twice", series)
		}
		samples[series] = v
		name, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(name, "pptpbox_") {
			fam := name
			if types[fam] == "" {
				fam = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			}
			if types[fam] == "" || !help[fam] {
				t.Errorf("%s: sample without HELP and TYPE", series)
			}
		}
	}
	return samples, types, string(b)
}

func TestHandlerWritesEveryMetric(t *testing.T) {
	samples, types, body := scrape(t, fakeSnapshot())
	sess := `user="al\"i\\ce",call_id="4242",ip="10.79.97.10"`
	want := map[string]float64{
		`pptpbox_build_info{version="v1.2.3",goversion="` + runtime.Version() + `"}`: 1,
		`pptpbox_sessions{state="up"}`:                                                         2,
		`pptpbox_sessions{state="starting"}`:                                                   1,
		`pptpbox_control_connections`:                                                          3,
		`pptpbox_control_connections_limit`:                                                    512,
		`pptpbox_login_guard_delayed_failures_total`:                                           15,
		`pptpbox_pool_addresses`:                                                               191,
		`pptpbox_pool_addresses_in_use`:                                                        2,
		`pptpbox_logins_total`:                                                                 7,
		`pptpbox_login_failures_total{reason="bad_password"}`:                                  4,
		`pptpbox_login_failures_total{reason="radius_timeout"}`:                                1,
		`pptpbox_traffic_bytes_total{direction="in"}`:                                          1000,
		`pptpbox_traffic_bytes_total{direction="out"}`:                                         2000,
		`pptpbox_traffic_packets_total{direction="in"}`:                                        10,
		`pptpbox_traffic_packets_total{direction="out"}`:                                       20,
		`pptpbox_dropped_packets_total{reason="gre_malformed"}`:                                5,
		`pptpbox_control_errors_total{kind="bad_magic"}`:                                       6,
		`pptpbox_limit_refusals_total{limit="conns_per_source"}`:                               8,
		`pptpbox_oversized_packets_total{action="fragmented"}`:                                 9,
		`pptpbox_calls_opened_total`:                                                           11,
		`pptpbox_login_guard_entries{table="sources"}`:                                         12,
		`pptpbox_session_info{` + sess + `,peer="198.51.100.7",mppe="MPPE 128-bit stateless"}`: 1,
		`pptpbox_session_uptime_seconds{` + sess + `}`:                                         90,
		`pptpbox_session_bytes_total{` + sess + `,direction="in"}`:                             600,
		`pptpbox_session_bytes_total{` + sess + `,direction="out"}`:                            1200,
		`pptpbox_session_packets_total{` + sess + `,direction="in"}`:                           6,
		`pptpbox_session_packets_total{` + sess + `,direction="out"}`:                          12,
		`pptpbox_radius_requests_total`:                                                        30,
		`pptpbox_radius_timeouts_total`:                                                        3,
		`pptpbox_radius_unreachable_total`:                                                     1,
		`pptpbox_radius_access_replies_total{result="accept"}`:                                 20,
		`pptpbox_radius_access_replies_total{result="reject"}`:                                 5,
		`pptpbox_radius_replies_dropped_total{reason="no_message_authenticator"}`:              1,
		`pptpbox_radius_replies_dropped_total{reason="bad_message_authenticator"}`:             2,
		`pptpbox_radius_replies_dropped_total{reason="other"}`:                                 1,
		`pptpbox_radius_accounting_requests_total{result="answered"}`:                          15,
		`pptpbox_radius_accounting_requests_total{result="lost"}`:                              2,
		`pptpbox_radius_in_flight_requests`:                                                    1,
		`pptpbox_radius_accounting_pending_records`:                                            2,
		`pptpbox_radius_accounting_spooled_records`:                                            3,
		`pptpbox_radius_accounting_dropped_total`:                                              4,
		`pptpbox_radius_dae_requests_total{result="ack"}`:                                      1,
		`pptpbox_radius_dae_requests_total{result="nak"}`:                                      2,
		`pptpbox_radius_dae_requests_total{result="dropped"}`:                                  3,
		`pptpbox_radius_dae_dropped_total{reason="stale"}`:                                     2,
		`pptpbox_radius_dae_dropped_total{reason="no_event_timestamp"}`:                        0,
		`pptpbox_radius_latency_seconds_bucket{le="0.01"}`:                                     3,
		`pptpbox_radius_latency_seconds_bucket{le="0.1"}`:                                      5,
		`pptpbox_radius_latency_seconds_bucket{le="+Inf"}`:                                     6,
		`pptpbox_radius_latency_seconds_sum`:                                                   1.5,
		`pptpbox_radius_latency_seconds_count`:                                                 6,
		`pptpbox_radius_server_up{server="192.0.2.10:1812",role="auth+acct"}`:                  1,
		`pptpbox_radius_server_requests_total{server="192.0.2.10:1812"}`:                       25,
		`pptpbox_radius_server_timeouts_total{server="192.0.2.10:1812"}`:                       2,
		`pptpbox_radius_server_rtt_seconds{server="192.0.2.10:1812",stat="last"}`:              0.02,
		`pptpbox_radius_server_rtt_seconds{server="192.0.2.10:1812",stat="avg"}`:               0.015,
		`pptpbox_firewall_packets_total{counter="wan_in_dropped"}`:                             13,
		`pptpbox_firewall_bytes_total{counter="wan_in_dropped"}`:                               1300,
		`pptpbox_dhcp_leases`:                                                                  4,
		`pptpbox_dhcp_events_total{event="lease_writes"}`:                                      14,
		`pptpbox_clock_synced`:                                                                 1,
		`pptpbox_clock_offset_seconds`:                                                         -1.5,
		`pptpbox_clock_steps_total`:                                                            2,
		`pptpbox_syslog_messages_total{result="sent"}`:                                         30,
		`pptpbox_syslog_messages_total{result="dropped"}`:                                      3,
		`pptpbox_dialout_up{name="hq"}`:                                                        1,
		`pptpbox_dialout_up{name="dc"}`:                                                        0,
		`pptpbox_dialout_connects_total{name="hq"}`:                                            3,
		`pptpbox_dialout_connects_total{name="dc"}`:                                            0,
	}
	for series, v := range want {
		got, ok := samples[series]
		if !ok {
			t.Errorf("missing %s", series)
		} else if got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	// Every pptpbox_ series written is one the test knows (a metric
	// added to Write is added here and to docs/metrics.md).
	for series := range samples {
		if _, ok := want[series]; strings.HasPrefix(series, "pptpbox_") && !ok {
			t.Errorf("unexpected series %s", series)
		}
	}
	for name, typ := range map[string]string{"pptpbox_logins_total": "counter", "pptpbox_sessions": "gauge",
		"pptpbox_radius_latency_seconds": "histogram"} {
		if types[name] != typ {
			t.Errorf("%s is a %q, want %s", name, types[name], typ)
		}
	}
	// The Go runtime and the process.
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if _, ok := samples[name]; !ok {
			t.Errorf("missing %s in\n%s", name, body)
		}
	}
}

// TestHandlerPartsOff: a box without PPTP, RADIUS, router writes only
// what it has, and no family without samples.
func TestHandlerPartsOff(t *testing.T) {
	samples, types, _ := scrape(t, Snapshot{Version: "dev"})
	for series := range samples {
		if strings.HasPrefix(series, "pptpbox_") && !strings.HasPrefix(series, "pptpbox_build_info") {
			t.Errorf("unexpected %s", series)
		}
	}
	for name := range types {
		if strings.HasPrefix(name, "pptpbox_") && name != "pptpbox_build_info" {
			t.Errorf("family %s declared", name)
		}
	}
}

func TestHandlerMethod(t *testing.T) {
	srv := httptest.NewServer(Handler(func(context.Context) Snapshot { return Snapshot{} }))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}
