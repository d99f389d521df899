package metrics

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Handler serves GET /metrics: the Snapshot collect returns, then the Go
// runtime's (go_*) and the process's (process_*) metrics.
func Handler(collect func(ctx context.Context) Snapshot) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		Write(&buf, collect(r.Context()))
		vm.WriteGoMetrics(&buf)
		vm.WriteProcMetrics(&buf)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		if r.Method == http.MethodGet {
			w.Write(buf.Bytes())
		}
	})
}

// Write writes s's metrics in the Prometheus text format: each family
// with its HELP and TYPE lines, then its samples.
func Write(out io.Writer, s Snapshot) {
	w := &writer{out: out}
	w.family("pptpbox_build_info", "gauge", "Always 1: the running boxd's version and Go version.")
	w.gauge("pptpbox_build_info", 1, "version", s.Version, "goversion", runtime.Version())
	if s.PPTP != nil {
		writePPTP(w, s.PPTP)
		writeSessions(w, s.PPTP.Sessions)
	}
	if s.Radius != nil {
		writeRadius(w, s.Radius)
	}
	if s.Firewall != nil {
		pkts, bytes := split(s.Firewall, func(c Firewall) (string, uint64, uint64) { return c.Name, c.Packets, c.Bytes })
		w.counters("pptpbox_firewall_packets_total", "Packets counted by the firewall's named counters (nftables table inet pptpbox).", "counter", pkts)
		w.counters("pptpbox_firewall_bytes_total", "Bytes counted by the firewall's named counters (nftables table inet pptpbox).", "counter", bytes)
	}
	if d := s.DHCP; d != nil {
		if d.Leases >= 0 {
			w.family("pptpbox_dhcp_leases", "gauge", "Leases the LAN DHCP server holds.")
			w.level("pptpbox_dhcp_leases", int64(d.Leases))
		}
		w.counters("pptpbox_dhcp_events_total", "LAN DHCP server events, by event.", "event", d.Counters)
	}
	if c := s.Clock; c != nil {
		synced := int64(0)
		if c.Synced {
			synced = 1
		}
		w.family("pptpbox_clock_synced", "gauge", "1 while the SNTP client has a good sync younger than a day, else 0.")
		w.level("pptpbox_clock_synced", synced)
		w.family("pptpbox_clock_offset_seconds", "gauge", "The clock's offset from the server at the last good sync, before it was corrected.")
		w.gauge("pptpbox_clock_offset_seconds", c.Offset.Seconds())
		w.family("pptpbox_clock_steps_total", "counter", "Times the SNTP client stepped the clock (offsets above 1 s).")
		w.counter("pptpbox_clock_steps_total", uint64(c.Steps))
	}
	if len(s.DialOuts) > 0 {
		w.family("pptpbox_dialout_up", "gauge", "1 while the dial-out's tunnel is up, else 0 ([[pptp.dial]]).")
		for _, d := range s.DialOuts {
			up := int64(0)
			if d.State == "up" {
				up = 1
			}
			w.level("pptpbox_dialout_up", up, "name", d.Name)
		}
		w.family("pptpbox_dialout_connects_total", "counter", "Sessions the dial-out brought up since boxd started.")
		for _, d := range s.DialOuts {
			w.counter("pptpbox_dialout_connects_total", d.Connects, "name", d.Name)
		}
	}
	if l := s.Syslog; l != nil {
		w.counters("pptpbox_syslog_messages_total", "Log lines for the remote syslog server, by result: sent, or dropped (queue full or socket error).", "result",
			[]control.Counter{{Name: "sent", Value: l.Sent}, {Name: "dropped", Value: l.Dropped}})
	}
}

func writePPTP(w *writer, p *PPTP) {
	w.family("pptpbox_sessions", "gauge", "PPTP sessions by state: up (network phase up) or starting (negotiating or logging in).")
	w.level("pptpbox_sessions", int64(p.SessionsUp), "state", "up")
	w.level("pptpbox_sessions", int64(p.SessionsStarting), "state", "starting")
	w.family("pptpbox_control_connections", "gauge", "Open PPTP control connections (TCP 1723).")
	w.level("pptpbox_control_connections", int64(p.ControlConns))
	w.family("pptpbox_control_connections_limit", "gauge", "The cap on open PPTP control connections (max_connections as boxd applies it; 0: none).")
	w.level("pptpbox_control_connections_limit", int64(p.MaxConns))
	w.family("pptpbox_pool_addresses", "gauge", "Addresses in the VPN address pool.")
	w.level("pptpbox_pool_addresses", int64(p.PoolSize))
	w.family("pptpbox_pool_addresses_in_use", "gauge", "Addresses of the VPN address pool handed out.")
	w.level("pptpbox_pool_addresses_in_use", int64(p.PoolInUse))
	w.family("pptpbox_logins_total", "counter", "Logins that came up (authenticated, addressed, network phase up).")
	w.counter("pptpbox_logins_total", p.LoginsOK)
	w.counters("pptpbox_login_failures_total", "Logins refused, by reason.", "reason", p.LoginFailures)
	w.family("pptpbox_traffic_bytes_total", "counter", "Bytes of IP packets carried by the sessions, ended ones included: in is from the VPN clients, out is to them.")
	w.counter("pptpbox_traffic_bytes_total", p.BytesIn, "direction", "in")
	w.counter("pptpbox_traffic_bytes_total", p.BytesOut, "direction", "out")
	w.family("pptpbox_traffic_packets_total", "counter", "IP packets carried by the sessions, ended ones included: in is from the VPN clients, out is to them.")
	w.counter("pptpbox_traffic_packets_total", p.PktsIn, "direction", "in")
	w.counter("pptpbox_traffic_packets_total", p.PktsOut, "direction", "out")
	w.counters("pptpbox_dropped_packets_total", "Packets the session server dropped, by reason.", "reason", p.Drops)
	w.counters("pptpbox_control_errors_total", "PPTP control connection errors, by kind.", "kind", p.ControlErrors)
	w.family("pptpbox_calls_opened_total", "counter", "PPTP calls (Outgoing-Call-Requests) accepted.")
	w.counter("pptpbox_calls_opened_total", p.CallsOpened)
	w.counters("pptpbox_limit_refusals_total", "Connections and calls refused or ended by a limit against peers that have not logged in, by limit.", "limit", p.Refusals)
	w.counters("pptpbox_oversized_packets_total", "Packets to a client larger than its MRU, by what was done.", "action", p.MTU)
	w.family("pptpbox_login_guard_delayed_failures_total", "counter", "Login failures the password-guessing guard held back (also counted in pptpbox_login_failures_total).")
	w.counter("pptpbox_login_guard_delayed_failures_total", p.GuardDelayed)
	w.family("pptpbox_login_guard_entries", "gauge", "Entries in the password-guessing guard's tables, by table.")
	for _, c := range p.GuardEntries {
		w.level("pptpbox_login_guard_entries", int64(c.Value), "table", c.Name)
	}
}

func writeSessions(w *writer, ss []control.Session) {
	w.family("pptpbox_session_info", "gauge", "Always 1 for each live session: its user, call id, tunnel address, peer address and MPPE mode.")
	for _, s := range ss {
		w.gauge("pptpbox_session_info", 1, "user", s.User, "call_id", strconv.Itoa(int(s.CallID)), "ip", s.IP, "peer", s.Peer, "mppe", s.MPPE)
	}
	w.family("pptpbox_session_uptime_seconds", "gauge", "Time since each live session's call was placed.")
	for _, s := range ss {
		w.gauge("pptpbox_session_uptime_seconds", s.Uptime.Seconds(), sessionLabels(s)...)
	}
	w.family("pptpbox_session_bytes_total", "counter", "Bytes of IP packets of each live session: in is from the client, out is to it.")
	for _, s := range ss {
		w.counter("pptpbox_session_bytes_total", s.BytesIn, append(sessionLabels(s), "direction", "in")...)
		w.counter("pptpbox_session_bytes_total", s.BytesOut, append(sessionLabels(s), "direction", "out")...)
	}
	w.family("pptpbox_session_packets_total", "counter", "IP packets of each live session: in is from the client, out is to it.")
	for _, s := range ss {
		w.counter("pptpbox_session_packets_total", s.PktsIn, append(sessionLabels(s), "direction", "in")...)
		w.counter("pptpbox_session_packets_total", s.PktsOut, append(sessionLabels(s), "direction", "out")...)
	}
}

func sessionLabels(s control.Session) []string {
	return []string{"user", s.User, "call_id", strconv.Itoa(int(s.CallID)), "ip", s.IP}
}

func writeRadius(w *writer, r *Radius) {
	c := r.Counters
	w.family("pptpbox_radius_requests_total", "counter", "RADIUS packets sent, resends included.")
	w.counter("pptpbox_radius_requests_total", c.Requests)
	w.family("pptpbox_radius_timeouts_total", "counter", "RADIUS sends that got no valid reply in time.")
	w.counter("pptpbox_radius_timeouts_total", c.Timeouts)
	w.family("pptpbox_radius_unreachable_total", "counter", "RADIUS requests no server answered.")
	w.counter("pptpbox_radius_unreachable_total", c.Unreachable)
	w.family("pptpbox_radius_access_replies_total", "counter", "RADIUS Access replies, by result (reject includes Access-Challenge).")
	w.counter("pptpbox_radius_access_replies_total", c.Accepts, "result", "accept")
	w.counter("pptpbox_radius_access_replies_total", c.Rejects, "result", "reject")
	other := c.BadReplies - min(c.BadReplies, c.UnsignedReplies+c.BadMsgAuth)
	w.family("pptpbox_radius_replies_dropped_total", "counter", "RADIUS replies dropped by a check, by reason.")
	w.counter("pptpbox_radius_replies_dropped_total", c.UnsignedReplies, "reason", "no_message_authenticator")
	w.counter("pptpbox_radius_replies_dropped_total", c.BadMsgAuth, "reason", "bad_message_authenticator")
	w.counter("pptpbox_radius_replies_dropped_total", other, "reason", "other")
	w.family("pptpbox_radius_accounting_requests_total", "counter", "RADIUS Accounting-Requests, by result: answered or lost (no server answered).")
	w.counter("pptpbox_radius_accounting_requests_total", c.AcctSent, "result", "answered")
	w.counter("pptpbox_radius_accounting_requests_total", c.AcctLost, "result", "lost")
	w.family("pptpbox_radius_in_flight_requests", "gauge", "RADIUS requests waiting for a reply now.")
	w.level("pptpbox_radius_in_flight_requests", c.InFlight)
	w.family("pptpbox_radius_accounting_pending_records", "gauge", "Accounting records (Start, Interim-Update, Stop) queued: sent now or waiting for the next try.")
	w.level("pptpbox_radius_accounting_pending_records", r.AcctPending)
	w.family("pptpbox_radius_accounting_spooled_records", "gauge", "Accounting Starts and Stops kept in the spool (boxd -acct-spool) until a server answers.")
	w.level("pptpbox_radius_accounting_spooled_records", c.AcctSpooled)
	w.family("pptpbox_radius_accounting_dropped_total", "counter", "Interim-Updates dropped from a full accounting queue.")
	w.counter("pptpbox_radius_accounting_dropped_total", c.AcctDropped)
	w.family("pptpbox_radius_dae_requests_total", "counter", "RFC 5176 Disconnect-Requests, by result: ack, nak, or dropped.")
	w.counter("pptpbox_radius_dae_requests_total", c.DAEACKs, "result", "ack")
	w.counter("pptpbox_radius_dae_requests_total", c.DAENAKs, "result", "nak")
	w.counter("pptpbox_radius_dae_requests_total", c.DAEDropped, "result", "dropped")
	w.family("pptpbox_radius_dae_dropped_total", "counter", "Disconnect-Requests dropped as stale or replayed, by reason (part of result=\"dropped\").")
	w.counter("pptpbox_radius_dae_dropped_total", c.DAEStale, "reason", "stale")
	w.counter("pptpbox_radius_dae_dropped_total", c.DAENoTimestamp, "reason", "no_event_timestamp")
	w.histogram("pptpbox_radius_latency_seconds", "Time from a RADIUS request's last send to its valid reply, every server and request type.", r.Latency)
	if r.Servers == nil {
		return
	}
	w.family("pptpbox_radius_server_up", "gauge", "1 when the RADIUS server answered the last request sent to it, else 0.")
	for _, s := range r.Servers {
		w.gauge("pptpbox_radius_server_up", boolValue(s.Up), "server", s.Address, "role", s.Role)
	}
	reqs, timeouts := split(r.Servers, func(s control.RadiusServer) (string, uint64, uint64) { return s.Address, s.Requests, s.Timeouts })
	w.counters("pptpbox_radius_server_requests_total", "RADIUS packets sent to the server, resends included.", "server", reqs)
	w.counters("pptpbox_radius_server_timeouts_total", "RADIUS sends to the server that got no valid reply in time.", "server", timeouts)
	w.family("pptpbox_radius_server_rtt_seconds", "gauge", "The server's reply time: the last one and the average.")
	for _, s := range r.Servers {
		w.gauge("pptpbox_radius_server_rtt_seconds", s.LastRTT.Seconds(), "server", s.Address, "stat", "last")
		w.gauge("pptpbox_radius_server_rtt_seconds", s.AvgRTT.Seconds(), "server", s.Address, "stat", "avg")
	}
}

// split makes two counter lists of items: each item's name with its a,
// and with its b.
func split[T any](items []T, f func(T) (name string, a, b uint64)) (as, bs []control.Counter) {
	for _, it := range items {
		name, a, b := f(it)
		as = append(as, control.Counter{Name: name, Value: a})
		bs = append(bs, control.Counter{Name: name, Value: b})
	}
	return as, bs
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// writer writes samples; labels are name, value pairs.
type writer struct {
	out io.Writer
	sb  strings.Builder
}

func (w *writer) family(name, typ, help string) {
	io.WriteString(w.out, "# HELP "+name+" "+help+"\n# TYPE "+name+" "+typ+"\n")
}

func (w *writer) counter(name string, v uint64, labels ...string) {
	vm.WriteCounterUint64(w.out, w.name(name, labels), v)
}

// level is a gauge of a count (written as an integer; never below 0).
func (w *writer) level(name string, v int64, labels ...string) {
	vm.WriteGaugeUint64(w.out, w.name(name, labels), uint64(max(v, 0)))
}

func (w *writer) gauge(name string, v float64, labels ...string) {
	vm.WriteGaugeFloat64(w.out, w.name(name, labels), v)
}

// counters writes a family of counters with one label.
func (w *writer) counters(name, help, label string, cs []control.Counter) {
	w.family(name, "counter", help)
	for _, c := range cs {
		w.counter(name, c.Value, label, c.Name)
	}
}

func (w *writer) histogram(name, help string, h Histogram) {
	w.family(name, "histogram", help)
	var cum uint64
	for i, b := range h.Bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		w.counter(name+"_bucket", cum, "le", strconv.FormatFloat(b.Seconds(), 'g', -1, 64))
	}
	w.counter(name+"_bucket", h.Count, "le", "+Inf")
	vm.WriteCounterFloat64(w.out, name+"_sum", h.Sum.Seconds())
	w.counter(name+"_count", h.Count)
}

// name is name{label="value",...}, values escaped as the text format
// wants (backslash, double quote, newline).
func (w *writer) name(name string, labels []string) string {
	if len(labels) == 0 {
		return name
	}
	b := &w.sb
	b.Reset()
	b.WriteString(name)
	b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(labels[i])
		b.WriteString(`="`)
		labelEscaper.WriteString(b, labels[i+1])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
