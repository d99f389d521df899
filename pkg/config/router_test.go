package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/nat"
)

const routerTOML = `
[wan]
interface = "eth0"
mode = "static"
address = "203.0.113.2/24"
gateway = "203.0.113.1"
dns = ["203.0.113.53"]
mtu = 1500

[lan]
interface = "eth1"
address = "192.168.1.1/24"

[lan.dhcp]
range = "192.168.1.100-150"
lease_time = "1h"
lease_file = "/tmp/leases.json"

[nat]
masquerade = ["10.79.97.0/24", "192.168.1.0/24"]
tcp_mss = "pmtu"
vpn_to_lan = false
pptp_passthrough = false

[firewall]
icmp_rate = 5
management_ports = [22, 443]

[[port_forward]]
proto = "tcp"
port = 8080
to = "192.168.1.10:80"
`

func parseRouter(t *testing.T, text string) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), p, "x.toml"))
	}
	return c, nil
}

func TestRouterSetup(t *testing.T) {
	c, err := parseRouter(t, routerTOML)
	if err != nil {
		t.Fatal(err)
	}
	p := c.NATParams()
	want := nat.Params{
		WAN: "eth0", WANAddr: netip.MustParseAddr("203.0.113.2"),
		LAN: "eth1", LANPrefix: netip.MustParsePrefix("192.168.1.0/24"),
		VPN: "pptp0", VPNPools: []netip.Prefix{netip.MustParsePrefix("10.79.97.0/24")},
		Masquerade: []netip.Prefix{netip.MustParsePrefix("10.79.97.0/24"), netip.MustParsePrefix("192.168.1.0/24")},
		ClampPMTU:  true, PPTPPort: 1723, ICMPRate: 5, MgmtTCPPorts: []uint16{22, 443},
		Forwards: []nat.PortForward{{Proto: nat.TCP, Port: 8080, To: netip.MustParseAddrPort("192.168.1.10:80")}},
	}
	if !equalParams(p, want) {
		t.Errorf("NATParams\n got %+v\nwant %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	ports := c.Ports()
	if ports.WAN.DHCP || ports.WAN.Addr.String() != "203.0.113.2/24" || ports.WAN.Gateway.String() != "203.0.113.1" ||
		ports.WAN.MTU != 1500 || len(ports.WAN.DNS) != 1 {
		t.Errorf("Ports.WAN = %+v", ports.WAN)
	}
	d := c.DHCPServer()
	if ports.LAN == nil || d == nil || d.RangeEnd.String() != "192.168.1.150" ||
		d.LeaseTime != time.Hour || len(d.DNS) != 2 /* pptp.dns */ {
		t.Errorf("Ports.LAN = %+v, DHCPServer = %+v", ports.LAN, d)
	}
	if err := ports.Validate(); err != nil {
		t.Error(err)
	}
	// The server on the LAN port, as pkg/router runs it.
	if d != nil && ports.LAN != nil {
		s := *d
		s.Iface, s.ServerAddr, s.Prefix, s.Router = ports.LAN.Iface, ports.LAN.Addr.Addr(), ports.LAN.Addr.Masked(), ports.LAN.Addr.Addr()
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func equalParams(a, b nat.Params) bool {
	return a.WAN == b.WAN && a.WANAddr == b.WANAddr && a.LAN == b.LAN && a.LANPrefix == b.LANPrefix &&
		a.VPN == b.VPN && slices.Equal(a.VPNPools, b.VPNPools) && slices.Equal(a.Masquerade, b.Masquerade) &&
		a.ClampMSS == b.ClampMSS && a.ClampPMTU == b.ClampPMTU && a.VPNToLAN == b.VPNToLAN && a.PPTPPassthrough == b.PPTPPassthrough &&
		a.PPTPPort == b.PPTPPort && a.ICMPRate == b.ICMPRate && slices.Equal(a.MgmtTCPPorts, b.MgmtTCPPorts) &&
		a.MgmtFromVPN == b.MgmtFromVPN && slices.Equal(a.Forwards, b.Forwards)
}

func TestRouterDefaults(t *testing.T) {
	c := Default()
	p := c.NATParams()
	if p.ClampMSS != 1356 || !p.VPNToLAN || !p.PPTPPassthrough || p.WANAddr.IsValid() || p.WAN != "wan" || p.LAN != "lan" ||
		!slices.Equal(p.Masquerade, []netip.Prefix{netip.MustParsePrefix("10.79.97.0/24"), netip.MustParsePrefix("192.168.1.0/24")}) {
		t.Errorf("default NATParams %+v", p)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	if ports := c.Ports(); !ports.WAN.DHCP || ports.LAN == nil || c.DHCPServer() == nil {
		t.Errorf("default ports %+v", ports)
	}
}

func TestRouterErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"overlapping wan and lan", "[wan]\nmode = \"static\"\naddress = \"192.168.0.2/16\"\n[lan]\naddress = \"192.168.1.1/24\"\n",
			"x.toml:5: lan.address: 192.168.1.0/24 overlaps the wan subnet 192.168.0.0/16"},
		{"pool outside any route", "[nat]\nmasquerade = [\"192.168.1.0/24\"]\n",
			"pptp.remote_ip: 10.79.97.10-10.79.97.200 is outside any route"},
		{"pool straddles lan", "[lan]\naddress = \"10.79.97.1/25\"\n[lan.dhcp]\nenabled = false\n[pptp]\nlocal_ip = \"10.79.97.250\"\n",
			"pptp.remote_ip: 10.79.97.10-10.79.97.200 straddles the lan subnet 10.79.97.0/25"},
		{"pool in lan without proxy arp", "[lan]\naddress = \"10.79.0.1/16\"\n[lan.dhcp]\nrange = \"10.79.1.10-20\"\n[pptp]\nproxy_arp = false\n",
			"x.toml:6: pptp.proxy_arp: the pool"},
		{"pool in wan", "[wan]\nmode = \"static\"\naddress = \"10.79.96.2/23\"\n",
			"pptp.remote_ip: 10.79.97.10-10.79.97.200 overlaps the wan subnet 10.79.96.0/23"},
		{"dhcp range outside lan", "[lan.dhcp]\nrange = \"192.168.2.10-20\"\n", "x.toml:2: lan.dhcp.range: 192.168.2.10-192.168.2.20 is not inside"},
		{"dhcp range holds box", "[lan.dhcp]\nrange = \"192.168.1.1-20\"\n", "lan.dhcp.range: 192.168.1.1-192.168.1.20 holds the box's own address"},
		{"same interface", "[wan]\ninterface = \"eth0\"\n[lan]\ninterface = \"eth0\"\n", "x.toml:4: lan.interface: \"eth0\" is also wan.interface"},
		{"bad wan mode", "[wan]\nmode = \"pppoe\"\n", "x.toml:2: wan.mode: must be dhcp or static"},
		{"static without address", "[wan]\nmode = \"static\"\n", "wan.address: want an IPv4 address"},
		{"gateway outside", "[wan]\nmode = \"static\"\naddress = \"203.0.113.2/24\"\ngateway = \"198.51.100.1\"\n", "x.toml:4: wan.gateway: 198.51.100.1 is outside"},
		{"mss", "[nat]\ntcp_mss = 40\n", "x.toml:2: nat.tcp_mss: must be 536-1460"},
		{"mss word", "[nat]\ntcp_mss = \"auto\"\n", "x.toml:2"},
		{"pptp passthrough not a bool", "[nat]\npptp_passthrough = \"yes\"\n", "x.toml:2: nat.pptp_passthrough"},
		{"forward outside lan", "[[port_forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.0.0.5:80\"\n", "x.toml:4: port_forward.0.to: 10.0.0.5 is not inside"},
		{"forward pptp port", "[[port_forward]]\nproto = \"tcp\"\nport = 1723\nto = \"192.168.1.5:1723\"\n", "x.toml:3: port_forward.0.port: tcp 1723 is the pptp port"},
		{"forward proto", "[[port_forward]]\nproto = \"icmp\"\nport = 1\nto = \"192.168.1.5:1\"\n", "x.toml:2: port_forward.0.proto: want tcp or udp"},
		{"forward twice", "[[port_forward]]\nproto = \"udp\"\nport = 53\nto = \"192.168.1.5:53\"\n[[port_forward]]\nproto = \"udp\"\nport = 53\nto = \"192.168.1.6:53\"\n",
			"x.toml:7: port_forward.1.port: udp/53 already forwarded"},
		{"mgmt port", "[firewall]\nmanagement_ports = [1723]\n", "x.toml:2: firewall.management_ports: bad port 1723"},
		{"tun is wan", "[pptp]\ntun = \"wan\"\n", "x.toml:2: pptp.tun: \"wan\" is also"},
		{"unknown key", "[lan.dhcp]\nstart = \"192.168.1.5\"\n", "x.toml:2: lan.dhcp.start: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRouter(t, tc.toml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCheckInterfaces(t *testing.T) {
	c, err := parseRouter(t, routerTOML)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{"eth0": true}
	err = c.CheckInterfaces(func(n string) bool { return have[n] })
	if err == nil || !strings.HasSuffix(err.Error(), ".toml:11: lan.interface: no interface \"eth1\" on this system") {
		t.Fatalf("CheckInterfaces = %v", err)
	}
	have["eth1"] = true
	if err := c.CheckInterfaces(func(n string) bool { return have[n] }); err != nil {
		t.Fatal(err)
	}
}

func TestTCPMSS(t *testing.T) {
	tests := []struct {
		in   any
		want TCPMSS
		ok   bool
	}{
		{int64(1356), TCPMSS{Value: 1356}, true},
		{"pmtu", TCPMSS{PMTU: true}, true},
		{"off", TCPMSS{}, true},
		{"1400", TCPMSS{Value: 1400}, true},
		{"auto", TCPMSS{}, false},
		{1.5, TCPMSS{}, false},
	}
	for _, tt := range tests {
		var m TCPMSS
		err := m.UnmarshalTOML(tt.in)
		if (err == nil) != tt.ok || (tt.ok && m != tt.want) {
			t.Errorf("UnmarshalTOML(%v) = %+v, %v", tt.in, m, err)
		}
	}
}
