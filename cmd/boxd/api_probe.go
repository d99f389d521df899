package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/probe"
)

// Probe: ping and traceroute from the box (pkg/probe), over a raw ICMP
// socket opened for the run.

// Bounds of ProbeRequest.Count: ping's requests, traceroute's hops.
const (
	maxPingCount = 100
	maxTraceHops = 64
)

func (a boxAPI) Probe(ctx context.Context, r control.ProbeRequest, fn func(control.ProbeLine) error) error {
	target := strings.TrimSpace(r.Target)
	if r.Kind != "ping" && r.Kind != "traceroute" {
		return control.Errorf(control.CodeBadRequest, "probe: kind %q: want ping or traceroute", r.Kind)
	}
	if target == "" {
		return control.Errorf(control.CodeBadRequest, "%s: no target", r.Kind)
	}
	limit := maxPingCount
	if r.Kind == "traceroute" {
		limit = maxTraceHops
	}
	if r.Count < 0 || r.Count > limit {
		return control.Errorf(control.CodeBadRequest, "%s: count %d: want 1 to %d", r.Kind, r.Count, limit)
	}
	var src netip.Addr
	if r.Source != "" {
		s, err := netip.ParseAddr(r.Source)
		if err != nil || !s.Is4() {
			return control.Errorf(control.CodeBadRequest, "%s: source %q: not an IPv4 address", r.Kind, r.Source)
		}
		src = s
	}
	dst, err := resolve4(ctx, target)
	if err != nil {
		return control.Errorf(control.CodeNotFound, "%s: %s: %v", r.Kind, target, err)
	}
	c, err := probe.Listen(src)
	if err != nil {
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return control.Errorf(control.CodeBadRequest, "%s: source %s is not an address of the box", r.Kind, src)
		}
		return control.Errorf(control.CodeInternal, "%s: %v", r.Kind, err)
	}
	defer c.Close()
	if a.b != nil && a.b.log != nil {
		a.b.log.Info("probe", "kind", r.Kind, "target", target, "addr", dst.String(), "count", r.Count, "source", r.Source)
	}
	out := func(l probe.Line) error { return fn(control.ProbeLine{Text: l.Text, Done: l.Last}) }
	if r.Kind == "ping" {
		_, err = probe.Ping(ctx, c, probe.PingConfig{Target: dst, Name: target, Count: r.Count}, out)
	} else {
		_, err = probe.Traceroute(ctx, c, probe.TraceConfig{Target: dst, Name: target, MaxHops: r.Count}, out)
	}
	return err
}

// resolve4 is target's IPv4 address: target itself, or its first A record.
func resolve4(ctx context.Context, target string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(target); err == nil {
		if !a.Unmap().Is4() {
			return netip.Addr{}, errors.New("not an IPv4 address (ping and traceroute are IPv4 only)")
		}
		return a.Unmap(), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", target)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return netip.Addr{}, errors.New("unknown host")
		}
		return netip.Addr{}, err
	}
	return addrs[0].Unmap(), nil
}
