package dialout

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// Connect refuses, before it opens anything, a server it cannot find and
// routes that would carry the tunnel's own packets into the tunnel.
func TestConnectRefusesBeforeDialing(t *testing.T) {
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "vpn.example.net" {
			return []netip.Addr{netip.MustParseAddr("::ffff:198.51.100.7")}, nil
		}
		return nil, errors.New("no such host")
	}
	for _, tt := range []struct {
		server string
		routes []string
		want   string
	}{
		{"vpn.example.net:1723", []string{"10.20.0.0/16", "198.51.100.0/24"}, "route 198.51.100.0/24 covers the server 198.51.100.7"},
		{"nowhere.example:1723", []string{"10.20.0.0/16"}, "resolve nowhere.example: no such host"},
		{"no-port", nil, "missing port"},
	} {
		p := &PPTP{Server: tt.server, Iface: "dial-t", Resolve: resolve}
		for _, r := range tt.routes {
			p.Routes = append(p.Routes, netip.MustParsePrefix(r))
		}
		s, err := p.Connect(context.Background())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %v: %v, %v; want %q", tt.server, tt.routes, s, err, tt.want)
		}
	}
}
