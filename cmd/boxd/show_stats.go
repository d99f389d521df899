package main

import (
	"context"
	"runtime"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/radius"
)

// Stats is the session server's counters and those of the parts that are
// on (RADIUS, the LAN DHCP server). With the PPTP server off, its part is
// zero.
func (a boxAPI) Stats(ctx context.Context) (control.StatsReply, error) {
	b := a.b
	b.mu.Lock()
	srv, rc := b.srv, b.rc
	b.mu.Unlock()
	out := control.StatsReply{Goroutines: runtime.NumGoroutine()}
	if srv != nil {
		out.Stats = controlStats(srv.Stats())
	}
	if rc != nil {
		rs := radiusCounters(rc.Stats())
		out.Radius = &rs
	}
	if b.router != nil {
		if ds, ok := b.router.DHCPStats(); ok {
			ls, _ := b.router.Leases()
			out.DHCPD = dhcpdCounters(ds, len(ls))
		}
	}
	return out, nil
}

// Radius is each RADIUS server's state and the client's counters.
func (a boxAPI) Radius(ctx context.Context) (control.RadiusReply, error) {
	b := a.b
	b.mu.Lock()
	rc := b.rc
	b.mu.Unlock()
	if rc == nil {
		return control.RadiusReply{}, control.Errorf(control.CodeUnavailable, "RADIUS is off (no [radius] servers, or the PPTP server is off)")
	}
	rs := radiusCounters(rc.Stats())
	return control.RadiusReply{Enabled: true, Servers: radiusServers(rc.Servers()), Counters: &rs}, nil
}

func radiusServers(in []radius.ServerState) []control.RadiusServer {
	out := make([]control.RadiusServer, 0, len(in))
	for _, s := range in {
		role := "auth"
		switch {
		case s.Auth && s.Acct:
			role = "auth+acct"
		case s.Acct:
			role = "acct"
		}
		out = append(out, control.RadiusServer{
			Address: s.Address, Role: role, Up: s.Up, LastRTT: s.LastRTT, AvgRTT: s.AvgRTT,
			Requests: s.Requests, Timeouts: s.Timeouts, LastSeen: s.LastSeen,
		})
	}
	return out
}

// radiusCounters maps the RADIUS client's counters (control_test.go
// checks that no field is left out).
func radiusCounters(s radius.Stats) control.RadiusCounters {
	return control.RadiusCounters{
		Requests:        s.Requests,
		Timeouts:        s.Timeouts,
		BadReplies:      s.BadReplies,
		Accepts:         s.Accepts,
		Rejects:         s.Rejects,
		Unreachable:     s.Unreachable,
		AcctSent:        s.AcctSent,
		AcctLost:        s.AcctLost,
		UnsignedReplies: s.UnsignedReplies,
		BadMsgAuth:      s.BadMsgAuth,
		DAEACKs:         s.DAEACKs,
		DAENAKs:         s.DAENAKs,
		DAEDropped:      s.DAEDropped,
		DAEStale:        s.DAEStale,
		DAENoTimestamp:  s.DAENoTimestamp,
		InFlight:        s.InFlight,
		AcctQueued:      s.AcctQueued,
		AcctSpooled:     s.AcctSpooled,
		AcctUnanswered:  s.AcctUnanswered,
		AcctDropped:     s.AcctDropped,
		AcctSpoolFull:   s.AcctSpoolFull,
	}
}

// dhcpdCounters maps the LAN DHCP server's counters, by their JSON names.
func dhcpdCounters(s dhcpd.Stats, leases int) *control.DHCPDCounters {
	return &control.DHCPDCounters{Leases: leases, Counters: []control.Counter{
		{Name: "declines_ignored", Value: s.DeclinesIgnored},
		{Name: "releases_ignored", Value: s.ReleasesIgnored},
		{Name: "lease_writes", Value: s.LeaseWrites},
		{Name: "lease_write_errors", Value: s.LeaseWriteErrs},
	}}
}
