package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/metrics"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// The Prometheus endpoint ([metrics] listen; docs/metrics.md): every
// figure is read at scrape time from the counters the parts keep anyway.

// serveMetrics serves /metrics on cfg's [metrics] listen until ctx ends
// (a reload does not move it: config.ForReload keeps [metrics]). The
// address may be the LAN port's, which the router is assigning right now:
// it waits for it (waitAddr). A listener that cannot open is logged and
// the box runs on without it.
func (b *box) serveMetrics(ctx context.Context, cfg *config.Config, wg *sync.WaitGroup) {
	ap, on := cfg.MetricsListen()
	if !on {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(b.metricsSnapshot))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	b.serveHTTP(ctx, wg, "metrics", ap.String(), hs, 2*time.Second, "path", "/metrics")
}

// serveHTTP runs hs on addr (a LAN or loopback address, which may not exist yet: waitAddr)
// until ctx ends, then shuts it down within grace; what names it in the log lines
// ("metrics endpoint listening"), with attrs added to the listening line.
func (b *box) serveHTTP(ctx context.Context, wg *sync.WaitGroup, what, addr string, hs *http.Server, grace time.Duration, attrs ...any) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ln net.Listener
		err := waitAddr(ctx, b.log, addr, func() (err error) { ln, err = net.Listen("tcp", addr); return err })
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error(what+" endpoint not started", "listen", addr, "err", err)
			}
			return
		}
		b.log.Info(what+" endpoint listening", append([]any{"listen", ln.Addr().String()}, attrs...)...)
		stop := context.AfterFunc(ctx, func() {
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			hs.Shutdown(sctx)
		})
		defer stop()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error(what+" endpoint stopped", "err", err)
		}
	}()
}

// metricsSnapshot is what /metrics writes: the session server's counters
// and sessions, the RADIUS client's, the firewall's and the LAN DHCP
// server's, each when that part runs.
func (b *box) metricsSnapshot(ctx context.Context) metrics.Snapshot {
	s := metrics.Snapshot{Version: version, Clock: b.clockState(), Syslog: b.syslogState()}
	s.DialOuts, _ = boxAPI{b}.DialOuts(ctx)
	b.mu.Lock()
	srv, rc := b.srv, b.rc
	b.mu.Unlock()
	if srv != nil {
		sessions, _ := boxAPI{b}.Sessions(ctx)
		s.PPTP = pptpMetrics(srv.Stats(), srv.Totals(), sessions)
	}
	if rc != nil {
		s.Radius = radiusMetrics(rc.Stats(), rc.Latency(), rc.AcctPending())
		// Per-server state comes from show radius (api_show.go) when it
		// has it.
		if rr, err := (boxAPI{b}).Radius(ctx); err == nil {
			s.Radius.Servers = rr.Servers
		}
	}
	if b.router != nil {
		if cs, err := nat.ReadCounters(); err == nil {
			s.Firewall = []metrics.Firewall{}
			for _, c := range cs {
				s.Firewall = append(s.Firewall, metrics.Firewall{Name: c.Name, Packets: c.Packets, Bytes: c.Bytes})
			}
		} else {
			b.log.Debug("metrics: firewall counters not read", "err", err)
		}
		if ds, ok := b.router.DHCPStats(); ok {
			s.DHCP = &metrics.DHCP{Leases: -1, Counters: []control.Counter{
				{Name: "declines_ignored", Value: ds.DeclinesIgnored},
				{Name: "releases_ignored", Value: ds.ReleasesIgnored},
				{Name: "lease_writes", Value: ds.LeaseWrites},
				{Name: "lease_write_errors", Value: ds.LeaseWriteErrs},
			}}
			// The leases come from show leases (api_show.go) when it
			// has them.
			if ls, err := (boxAPI{b}).Leases(ctx); err == nil {
				s.DHCP.Leases = len(ls)
			}
		}
	}
	return s
}

// pptpMetrics maps the session server's counters onto the metrics.
func pptpMetrics(st session.StatsSnapshot, t session.Totals, sessions []control.Session) *metrics.PPTP {
	c, a, l := st.Control, st.Auth, st.Limits
	p := &metrics.PPTP{
		SessionsUp: t.Up, SessionsStarting: t.Starting, ControlConns: st.Conns, MaxConns: l.MaxConns,
		GuardDelayed: a.DelayedFailures,
		PoolSize:     st.PoolSize, PoolInUse: st.PoolInUse,
		LoginsOK: t.LoginsOK,
		BytesIn:  t.BytesIn, BytesOut: t.BytesOut, PktsIn: t.PktsIn, PktsOut: t.PktsOut,
		Drops: []control.Counter{
			{Name: "gre_malformed", Value: st.GREMalformed},
			{Name: "gre_unknown_call", Value: st.GREUnknownCall},
			{Name: "gre_wrong_peer", Value: st.GREWrongPeer},
			{Name: "gre_old", Value: st.GREDropped},
			{Name: "gre_far_jump", Value: st.GREFarJump},
			{Name: "mppe_far_jump", Value: st.MPPEFarJump},
			{Name: "mppe_rekey_limited", Value: st.MPPERekeyLimited},
			{Name: "peer_wrong_source", Value: st.PeerWrongSource},
			{Name: "tun_no_session", Value: st.TUNNoSession},
			{Name: "tun_malformed", Value: st.TUNMalformed},
			{Name: "too_big", Value: st.TUNTooBigDropped},
			{Name: "frag_needed_limited", Value: st.TUNFragNeededLimited},
			{Name: "send_error", Value: st.SendErrors},
			{Name: "tun_write_error", Value: st.TUNWriteErrors},
		},
		ControlErrors: []control.Counter{
			{Name: "bad_magic", Value: c.BadMagic},
			{Name: "bad_length", Value: c.BadLength},
			{Name: "malformed", Value: c.Malformed},
			{Name: "unknown", Value: c.Unknown},
			{Name: "unexpected", Value: c.Unexpected},
			{Name: "bad_call_id", Value: c.BadCallID},
			{Name: "start_timeout", Value: c.StartTimeouts},
			{Name: "echo_timeout", Value: c.EchoTimeouts},
		},
		CallsOpened: c.CallsOpened,
		Refusals: []control.Counter{
			{Name: "conns_global", Value: l.ConnsRefusedGlobal},
			{Name: "conns_per_source", Value: l.ConnsRefusedPerSource},
			{Name: "accept_error", Value: l.AcceptErrors},
			{Name: "calls_per_conn", Value: l.CallsRefusedPerConn},
			{Name: "calls_unauthenticated", Value: l.CallsRefusedUnauth},
			{Name: "login_timeout", Value: l.LoginTimeouts},
			{Name: "guard_source", Value: a.RefusedCalls},
		},
		MTU: []control.Counter{
			{Name: "fragmented", Value: st.TUNFragmented},
			{Name: "frag_needed_sent", Value: st.TUNFragNeededSent},
		},
		GuardEntries: []control.Counter{
			{Name: "sources", Value: uint64(a.GuardSources)},
			{Name: "users", Value: uint64(a.GuardUsers)},
			{Name: "pairs", Value: uint64(a.GuardPairs)},
		},
		Sessions: sessions,
	}
	for _, f := range t.Failures {
		p.LoginFailures = append(p.LoginFailures, control.Counter{Name: f.Reason, Value: f.Count})
	}
	return p
}

// radiusMetrics maps the RADIUS client's counters and latency onto the
// metrics.
func radiusMetrics(st radius.Stats, lat radius.Latency, pending int64) *metrics.Radius {
	return &metrics.Radius{
		Counters:    radiusCounters(st),
		Latency:     metrics.Histogram{Bounds: radius.LatencyBounds, Counts: lat.Counts, Count: lat.Count, Sum: lat.Sum},
		AcctPending: pending,
	}
}
