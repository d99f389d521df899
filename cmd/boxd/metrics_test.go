package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/metrics"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// numbers lists the numeric fields of the struct v (nested structs
// included) by dotted name.
func numbers(v reflect.Value, prefix string, out map[string]uint64) {
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Struct:
			numbers(f, name+".", out)
		case reflect.Int, reflect.Int64:
			out[name] = uint64(f.Int())
		case reflect.Uint16, reflect.Uint64:
			out[name] = f.Uint()
		}
	}
}

// metricValues is every number a metrics.PPTP carries (but its sessions).
func metricValues(p *metrics.PPTP) map[uint64]bool {
	got := map[uint64]bool{}
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Int:
			got[uint64(f.Int())] = true
		case reflect.Uint64:
			got[f.Uint()] = true
		case reflect.Slice:
			if cs, ok := f.Interface().([]control.Counter); ok {
				for _, c := range cs {
					got[c.Value] = true
				}
			}
		}
	}
	return got
}

// TestPPTPMetricsCarryEveryCounter: each counter of the session server's
// snapshot reaches /metrics, but those left out on purpose, each for the
// reason given.
func TestPPTPMetricsCarryEveryCounter(t *testing.T) {
	var st session.StatsSnapshot
	n := 0
	fill(t, reflect.ValueOf(&st).Elem(), &n)
	tot := session.Totals{Up: 1_000_001, Starting: 1_000_002, LoginsOK: 1_000_003,
		BytesIn: 1_000_004, BytesOut: 1_000_005, PktsIn: 1_000_006, PktsOut: 1_000_007,
		Failures: []session.ReasonCount{{Reason: session.FailBadPassword, Count: 1_000_008}}}
	p := pptpMetrics(st, tot, nil)
	got := metricValues(p)
	left := map[string]string{
		"Sessions":                 "pptpbox_sessions by state, from Totals",
		"TUNFragmentsOut":          "fragments per fragmented packet: pptpbox_oversized_packets_total{action=fragmented} counts the packets",
		"CallsRefused":             "the limits' and the guard's refusals are counted by reason in pptpbox_limit_refusals_total",
		"AuthFailures":             "pptpbox_login_failures_total counts them by reason (Totals)",
		"Control.CallsRefused":     "as CallsRefused",
		"Auth.SingleSessionDenied": "in pptpbox_login_failures_total (Totals)",
		"Auth.ReauthRefused":       "in pptpbox_login_failures_total (Totals)",
		"Auth.BlockedLogins":       "in pptpbox_login_failures_total (Totals)",
		"Limits.ConnsOpen":         "pptpbox_control_connections (Conns)",
	}
	in := map[string]uint64{}
	numbers(reflect.ValueOf(st), "", in)
	var missing []string
	for name, v := range in {
		if _, ok := left[name]; !ok && !got[v] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("session.StatsSnapshot fields not in /metrics: %s (map them in pptpMetrics, or say why not in this test)", strings.Join(missing, ", "))
	}
	for name := range left {
		if _, ok := in[name]; !ok {
			t.Errorf("left-out field %s is not in session.StatsSnapshot any more", name)
		}
	}
	if p.SessionsUp != tot.Up || p.SessionsStarting != tot.Starting || p.LoginsOK != tot.LoginsOK || p.BytesIn != tot.BytesIn ||
		p.BytesOut != tot.BytesOut || p.PktsIn != tot.PktsIn || p.PktsOut != tot.PktsOut ||
		len(p.LoginFailures) != 1 || p.LoginFailures[0] != (control.Counter{Name: "bad_password", Value: 1_000_008}) {
		t.Errorf("totals mapped as %+v", p)
	}
}

// TestRadiusMetricsCarryEveryCounter: every counter of radius.Stats
// reaches the metrics, and the latency buckets their bounds.
func TestRadiusMetricsCarryEveryCounter(t *testing.T) {
	var st radius.Stats
	n := 0
	fill(t, reflect.ValueOf(&st).Elem(), &n)
	lat := radius.Latency{Counts: make([]uint64, len(radius.LatencyBounds)+1), Count: 3, Sum: time.Second}
	r := radiusMetrics(st, lat, 9)
	if zero := zeroFields(reflect.ValueOf(r.Counters), ""); len(zero) > 0 {
		t.Errorf("radius.Stats not mapped: %s", strings.Join(zero, ", "))
	}
	in := map[string]uint64{}
	numbers(reflect.ValueOf(st), "", in)
	out := map[string]uint64{}
	numbers(reflect.ValueOf(r.Counters), "", out)
	for name, v := range in {
		if out[name] != v {
			t.Errorf("radius %s: %d, want %d", name, out[name], v)
		}
	}
	if len(r.Latency.Bounds) != len(radius.LatencyBounds) || r.Latency.Count != 3 || r.Latency.Sum != time.Second || r.AcctPending != 9 {
		t.Errorf("latency %+v pending %d", r.Latency, r.AcctPending)
	}
}
