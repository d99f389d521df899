package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Router holds the router sections: [wan], [lan] (with [lan.dhcp]),
// [nat], [firewall] and [[port_forward]]. Config embeds Router so that
// they decode at the top level of the file.
type Router struct {
	WAN          WAN           `toml:"wan"`
	LAN          LAN           `toml:"lan"`
	NAT          NAT           `toml:"nat"`
	Firewall     Firewall      `toml:"firewall"`
	PortForwards []PortForward `toml:"port_forward"`
}

// WAN is the uplink port.
type WAN struct {
	Interface string `toml:"interface"`
	Mode      string `toml:"mode"` // "dhcp" or "static"
	// Static mode: address with prefix length, gateway, resolvers.
	Address  string   `toml:"address"`
	Gateway  string   `toml:"gateway"`
	DNS      []string `toml:"dns"`
	MTU      int      `toml:"mtu"`      // 0 keeps the NIC's MTU
	Hostname string   `toml:"hostname"` // DHCP option 12
}

// LAN is the office port.
type LAN struct {
	Enabled   bool    `toml:"enabled"`
	Interface string  `toml:"interface"`
	Address   string  `toml:"address"` // the box's address and the subnet: "192.168.1.1/24"
	MTU       int     `toml:"mtu"`
	DHCP      LANDHCP `toml:"dhcp"`
}

// LANDHCP is the DHCP server on the LAN.
type LANDHCP struct {
	Enabled   bool     `toml:"enabled"`
	Range     string   `toml:"range"` // "192.168.1.100-192.168.1.199" or "192.168.1.100-199"
	LeaseTime Duration `toml:"lease_time"`
	// DNS handed to LAN hosts; empty gives them pptp.dns.
	DNS       []string `toml:"dns"`
	Domain    string   `toml:"domain"`
	LeaseFile string   `toml:"lease_file"` // kept across restarts
}

// NAT is masquerading and MSS clamping (the seed's iptables lines).
type NAT struct {
	// Masquerade lists source prefixes NATed out of the WAN; empty means
	// the VPN pool's prefix and the LAN subnet.
	Masquerade []string `toml:"masquerade"`
	TCPMSS     TCPMSS   `toml:"tcp_mss"`
	VPNToLAN   bool     `toml:"vpn_to_lan"` // VPN clients and LAN hosts reach each other
	// PPTPPassthrough attaches the kernel's PPTP conntrack helper to LAN
	// hosts dialing outside PPTP servers (nat.Params.PPTPPassthrough).
	PPTPPassthrough bool `toml:"pptp_passthrough"`
}

// TCPMSS is [nat] tcp_mss: a number (1356 in the seed), "pmtu" (clamp to
// the route MTU) or 0 / "off".
type TCPMSS struct {
	Value int
	PMTU  bool
}

// UnmarshalTOML accepts an integer or "pmtu" / "off".
func (m *TCPMSS) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		*m = TCPMSS{Value: int(v)}
	case string:
		switch v {
		case "pmtu":
			*m = TCPMSS{PMTU: true}
		case "off":
			*m = TCPMSS{}
		default:
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("want a number, \"pmtu\" or \"off\", got %q", v)
			}
			*m = TCPMSS{Value: n}
		}
	default:
		return fmt.Errorf("want a number, \"pmtu\" or \"off\", got %T", v)
	}
	return nil
}

// Firewall is what the box itself accepts.
type Firewall struct {
	// ICMPRate is ICMP echo requests per second answered on the WAN; 0 drops them.
	ICMPRate int `toml:"icmp_rate"`
	// ManagementPorts are TCP ports of management services, reachable
	// from the LAN only (and the VPN with management_from_vpn).
	ManagementPorts   []int `toml:"management_ports"`
	ManagementFromVPN bool  `toml:"management_from_vpn"`
}

// PortForward is one DNAT rule: WAN port -> inside address:port.
type PortForward struct {
	Proto string `toml:"proto"` // "tcp" or "udp"
	Port  int    `toml:"port"`
	To    string `toml:"to"` // "192.168.1.10:80"
}

func defaultRouter() Router {
	return Router{
		WAN: WAN{Interface: "wan", Mode: "dhcp", Hostname: "pptpbox"},
		LAN: LAN{Enabled: true, Interface: "lan", Address: "192.168.1.1/24",
			DHCP: LANDHCP{Enabled: true, Range: "192.168.1.100-199",
				LeaseTime: Duration{12 * time.Hour}, LeaseFile: "/var/lib/pptpbox/lan-leases.json"}},
		NAT:      NAT{TCPMSS: TCPMSS{Value: 1356}, VPNToLAN: true, PPTPPassthrough: true},
		Firewall: Firewall{ICMPRate: 10},
	}
}

// WANPrefix is wan.address parsed (static mode; valid after Validate).
func (w *WAN) WANPrefix() netip.Prefix { p, _ := netip.ParsePrefix(w.Address); return p }

// LANPrefix is lan.address parsed (valid after Validate).
func (l *LAN) LANPrefix() netip.Prefix { p, _ := netip.ParsePrefix(l.Address); return p }
