package main

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestProbeRequests: bad requests are refused with CodeBadRequest (or
// CodeNotFound for a name that does not resolve) before any socket opens.
func TestProbeRequests(t *testing.T) {
	api := boxAPI{}
	for _, tc := range []struct {
		r    control.ProbeRequest
		code control.Code
	}{
		{control.ProbeRequest{Kind: "mtr", Target: "127.0.0.1"}, control.CodeBadRequest},
		{control.ProbeRequest{Kind: "ping", Target: " "}, control.CodeBadRequest},
		{control.ProbeRequest{Kind: "ping", Target: "127.0.0.1", Count: 101}, control.CodeBadRequest},
		{control.ProbeRequest{Kind: "traceroute", Target: "127.0.0.1", Count: 65}, control.CodeBadRequest},
		{control.ProbeRequest{Kind: "ping", Target: "127.0.0.1", Count: -1}, control.CodeBadRequest},
		{control.ProbeRequest{Kind: "ping", Target: "127.0.0.1", Source: "::1"}, control.CodeBadRequest},
		{control.ProbeRequest{Kind: "ping", Target: "::1"}, control.CodeNotFound},
		{control.ProbeRequest{Kind: "ping", Target: "no-such-host.invalid"}, control.CodeNotFound},
	} {
		err := api.Probe(context.Background(), tc.r, func(control.ProbeLine) error {
			t.Errorf("%+v: output", tc.r)
			return nil
		})
		if control.CodeOf(err) != tc.code {
			t.Errorf("%+v: %v (%s), want %s", tc.r, err, control.CodeOf(err), tc.code)
		}
	}
}

// TestProbePingLoopback: boxd's Probe pings in a fresh namespace's
// loopback; the lines stream, the last one marked Done. A source that is
// not the box's is refused.
func TestProbePingLoopback(t *testing.T) {
	netnstest.Run(t, func() error {
		var lines []control.ProbeLine
		err := boxAPI{}.Probe(context.Background(), control.ProbeRequest{Kind: "ping", Target: "127.0.0.1", Count: 2},
			func(l control.ProbeLine) error { lines = append(lines, l); return nil })
		if err != nil {
			return err
		}
		want := []string{`PING 127\.0\.0\.1 .*`, `64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=64 time=.* ms`,
			`64 bytes from 127\.0\.0\.1: icmp_seq=2 ttl=64 time=.* ms`, `--- 127\.0\.0\.1 ping statistics ---`,
			`2 packets transmitted, 2 received, 0% packet loss, .*`, `rtt .*`}
		if len(lines) != len(want) {
			return fmt.Errorf("lines %+v", lines)
		}
		for i, re := range want {
			if !regexp.MustCompile("^"+re+"$").MatchString(lines[i].Text) || lines[i].Done != (i == len(want)-1) {
				t.Errorf("line %d %+v, want %s", i, lines[i], re)
			}
		}
		err = boxAPI{}.Probe(context.Background(), control.ProbeRequest{Kind: "traceroute", Target: "127.0.0.1", Source: "192.0.2.99"},
			func(control.ProbeLine) error { return nil })
		if control.CodeOf(err) != control.CodeBadRequest {
			t.Errorf("foreign source: %v", err)
		}
		return nil
	}, "ip")
}
