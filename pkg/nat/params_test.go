package nat

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	base := func() Params {
		return Params{
			WAN: "wan0", LAN: "lan0", LANPrefix: netip.MustParsePrefix("192.168.1.0/24"),
			VPN: "pptp0", VPNPools: []netip.Prefix{netip.MustParsePrefix("10.79.97.0/24")},
			ClampMSS: 1356, PPTPPort: 1723, MgmtTCPPorts: []uint16{22},
		}
	}
	tests := []struct {
		name    string
		mod     func(*Params)
		wantErr string // "" = valid
	}{
		{"base", func(*Params) {}, ""},
		{"wildcard vpn", func(p *Params) { p.VPN = "ppp*" }, ""},
		{"no wan", func(p *Params) { p.WAN = "" }, "wan interface"},
		{"long name", func(p *Params) { p.LAN = "averyveryverylongname" }, "lan interface"},
		{"slash", func(p *Params) { p.LAN = "a/b" }, "lan interface"},
		{"wan is lan", func(p *Params) { p.LAN = "wan0" }, "also the wan"},
		{"sites", func(p *Params) { p.Sites = []Site{{Iface: "dial-a", Masquerade: true}, {Iface: "dial-b"}} }, ""},
		{"site is lan", func(p *Params) { p.Sites = []Site{{Iface: "lan0"}} }, "site interface \"lan0\" is also the lan"},
		{"site wildcard", func(p *Params) { p.Sites = []Site{{Iface: "dial-*"}} }, "site interface"},
		{"site twice", func(p *Params) { p.Sites = []Site{{Iface: "dial-a"}, {Iface: "dial-a"}} }, "also the site"},
		{"v6 wan addr", func(p *Params) { p.WANAddr = netip.MustParseAddr("2001:db8::1") }, "not IPv4"},
		{"mss low", func(p *Params) { p.ClampMSS = 100 }, "out of range"},
		{"mss and pmtu", func(p *Params) { p.ClampPMTU = true }, "exclusive"},
		{"mgmt is pptp", func(p *Params) { p.MgmtTCPPorts = []uint16{1723} }, "pptp port"},
		{"forward shadows pptp", func(p *Params) {
			p.Forwards = []PortForward{{TCP, 1723, netip.MustParseAddrPort("192.168.1.2:1723")}}
		}, "shadows"},
		{"dae", func(p *Params) { p.DAEPort, p.DAESources = 3799, []netip.Addr{netip.MustParseAddr("198.51.100.5")} }, ""},
		{"dae no sources", func(p *Params) { p.DAEPort = 3799 }, "without a source"},
		{"dae v6 source", func(p *Params) { p.DAEPort, p.DAESources = 3799, []netip.Addr{netip.MustParseAddr("2001:db8::5")} }, "dae source"},
		{"forward shadows dae", func(p *Params) {
			p.DAEPort, p.DAESources = 3799, []netip.Addr{netip.MustParseAddr("198.51.100.5")}
			p.Forwards = []PortForward{{UDP, 3799, netip.MustParseAddrPort("192.168.1.2:3799")}}
		}, "shadows the dae"},
		{"forward twice", func(p *Params) {
			f := PortForward{UDP, 53, netip.MustParseAddrPort("192.168.1.2:53")}
			p.Forwards = []PortForward{f, f}
		}, "twice"},
		{"forward no target port", func(p *Params) {
			p.Forwards = []PortForward{{TCP, 80, netip.AddrPortFrom(netip.MustParseAddr("192.168.1.2"), 0)}}
		}, "need ports"},
		{"bad proto", func(p *Params) {
			p.Forwards = []PortForward{{Proto(1), 80, netip.MustParseAddrPort("192.168.1.2:80")}}
		}, "not tcp or udp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.mod(&p)
			err := p.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "nat: ") {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestProto(t *testing.T) {
	for _, s := range []string{"tcp", "udp", "TCP"} {
		p, err := ParseProto(s)
		if err != nil || p.String() != strings.ToLower(s) {
			t.Errorf("ParseProto(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseProto("sctp"); err == nil {
		t.Error("ParseProto(sctp) succeeded")
	}
}
