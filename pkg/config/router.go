package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
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

func parseAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// poolPrefix is the smallest prefix holding pptp.local_ip and every
// remote_ip address: what the nat table calls the VPN pool.
func (c *Config) poolPrefix() (netip.Prefix, bool) {
	ranges, local := c.PPTP.params.Pool, c.PPTP.params.LocalIP
	if !local.Is4() || len(ranges) == 0 {
		return netip.Prefix{}, false
	}
	p := netip.PrefixFrom(local, 32)
	for _, r := range ranges {
		for !p.Contains(r.First) || !p.Contains(r.Last) {
			p = netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked()
		}
	}
	return p, true
}

func (c *Config) masquerade() []netip.Prefix {
	if len(c.NAT.Masquerade) > 0 {
		var out []netip.Prefix
		for _, s := range c.NAT.Masquerade {
			if p, err := netip.ParsePrefix(s); err == nil {
				out = append(out, p.Masked())
			}
		}
		return out
	}
	var out []netip.Prefix
	if p, ok := c.poolPrefix(); ok && c.PPTP.Enabled {
		out = append(out, p)
	}
	if c.LAN.Enabled {
		if p := c.LAN.LANPrefix(); p.IsValid() {
			out = append(out, p.Masked())
		}
	}
	return out
}

// dhcpRange parses lan.dhcp.range: "a.b.c.d-e.f.g.h" or "a.b.c.d-h".
func dhcpRange(s string) (first, last netip.Addr, err error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return first, last, fmt.Errorf("want first-last, got %q", s)
	}
	if first, err = netip.ParseAddr(strings.TrimSpace(lo)); err != nil || !first.Is4() {
		return first, last, fmt.Errorf("bad first address in %q", s)
	}
	hi = strings.TrimSpace(hi)
	if !strings.Contains(hi, ".") {
		b := first.As4()
		n, err := strconv.Atoi(hi)
		if err != nil || n < 0 || n > 255 {
			return first, last, fmt.Errorf("bad last octet in %q", s)
		}
		b[3] = byte(n)
		last = netip.AddrFrom4(b)
	} else if last, err = netip.ParseAddr(hi); err != nil || !last.Is4() {
		return first, last, fmt.Errorf("bad last address in %q", s)
	}
	if last.Less(first) {
		return first, last, fmt.Errorf("range %q is empty", s)
	}
	return first, last, nil
}

// validIfname: IFNAMSIZ is 16 with the NUL; '/', spaces and ':' cannot occur.
func validIfname(s string) bool {
	return s != "" && len(s) < 16 && !strings.ContainsAny(s, "/ :*") && s != "." && s != ".."
}

// validateRouter checks the router sections; see Validate.
func (c *Config) validateRouter() []error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, c.errorf(key, format, args...)) }

	w := &c.WAN
	if !validIfname(w.Interface) {
		bad("wan.interface", "not a valid interface name: %q", w.Interface)
	}
	var wanNet netip.Prefix
	switch w.Mode {
	case "dhcp":
		if w.Address != "" || w.Gateway != "" {
			bad("wan.address", "address and gateway are for mode = \"static\"")
		}
	case "static":
		p, err := netip.ParsePrefix(w.Address)
		if err != nil || !p.Addr().Is4() || p.Bits() == 0 {
			bad("wan.address", "want an IPv4 address with prefix length (\"203.0.113.2/24\"), got %q", w.Address)
		} else {
			wanNet = p.Masked()
		}
		if w.Gateway != "" {
			g, err := netip.ParseAddr(w.Gateway)
			if err != nil || !g.Is4() {
				bad("wan.gateway", "not an IPv4 address: %q", w.Gateway)
			} else if wanNet.IsValid() && !wanNet.Contains(g) {
				bad("wan.gateway", "%s is outside the wan subnet %s", g, wanNet)
			}
		}
	default:
		bad("wan.mode", "must be dhcp or static, not %q", w.Mode)
	}
	for _, s := range w.DNS {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			bad("wan.dns", "not an IPv4 address: %q", s)
		}
	}
	checkMTU := func(key string, m int) {
		if m != 0 && (m < 576 || m > 9000) {
			bad(key, "must be 0 (keep) or between 576 and 9000, got %d", m)
		}
	}
	checkMTU("wan.mtu", w.MTU)

	l := &c.LAN
	var lanNet netip.Prefix
	if l.Enabled {
		if !validIfname(l.Interface) {
			bad("lan.interface", "not a valid interface name: %q", l.Interface)
		} else if l.Interface == w.Interface {
			bad("lan.interface", "%q is also wan.interface", l.Interface)
		}
		p, err := netip.ParsePrefix(l.Address)
		if err != nil || !p.Addr().Is4() || p.Bits() == 0 || p.Bits() > 30 || p.Addr() == p.Masked().Addr() {
			bad("lan.address", "want the box's IPv4 address with prefix length (\"192.168.1.1/24\"), got %q", l.Address)
		} else {
			lanNet = p.Masked()
			if wanNet.IsValid() && wanNet.Overlaps(lanNet) {
				bad("lan.address", "%s overlaps the wan subnet %s", lanNet, wanNet)
			}
		}
		checkMTU("lan.mtu", l.MTU)
		errs = append(errs, c.validateLANDHCP(lanNet)...)
	}
	if c.PPTP.Enabled && (c.PPTP.Tun == w.Interface || (l.Enabled && c.PPTP.Tun == l.Interface)) {
		bad("pptp.tun", "%q is also a wan/lan interface", c.PPTP.Tun)
	}

	// The pool must be routable: inside the LAN subnet (reached by proxy
	// ARP, like the seed's proxyarp) or in a masqueraded prefix; never
	// straddling the LAN or inside the WAN subnet.
	masq := c.masquerade()
	for i, s := range c.NAT.Masquerade {
		if p, err := netip.ParsePrefix(s); err != nil || !p.Addr().Is4() {
			bad(fmt.Sprintf("nat.masquerade.%d", i), "not an IPv4 prefix: %q", s)
		}
	}
	if c.PPTP.Enabled {
		for _, r := range c.PPTP.params.Pool {
			inLAN := lanNet.IsValid() && lanNet.Contains(r.First) && lanNet.Contains(r.Last)
			partLAN := lanNet.IsValid() && !inLAN && rangeOverlaps(r, lanNet)
			switch {
			case wanNet.IsValid() && rangeOverlaps(r, wanNet):
				bad("pptp.remote_ip", "%s overlaps the wan subnet %s", r, wanNet)
			case partLAN:
				bad("pptp.remote_ip", "%s straddles the lan subnet %s: put it wholly inside or outside", r, lanNet)
			case inLAN && !c.PPTP.ProxyARP:
				bad("pptp.proxy_arp", "the pool %s is inside the lan subnet %s, so proxy_arp must be true", r, lanNet)
			case !inLAN && !coveredBy(r, masq):
				bad("pptp.remote_ip", "%s is outside any route: neither inside the lan subnet nor in nat.masquerade %v", r, masq)
			}
		}
	}

	switch {
	case c.NAT.TCPMSS.PMTU, c.NAT.TCPMSS.Value == 0:
	case c.NAT.TCPMSS.Value < 536 || c.NAT.TCPMSS.Value > 1460:
		bad("nat.tcp_mss", "must be 536-1460, \"pmtu\" or \"off\", got %d", c.NAT.TCPMSS.Value)
	}

	fw := &c.Firewall
	if fw.ICMPRate < 0 || fw.ICMPRate > 10000 {
		bad("firewall.icmp_rate", "must be 0-10000 per second, got %d", fw.ICMPRate)
	}
	pptpPort := c.pptpPort()
	for _, p := range fw.ManagementPorts {
		if p <= 0 || p > 65535 || p == pptpPort {
			bad("firewall.management_ports", "bad port %d (1-65535, not the pptp port)", p)
		}
	}

	seen := map[string]int{}
	for i, f := range c.PortForwards {
		key := func(k string) string { return fmt.Sprintf("port_forward.%d.%s", i, k) }
		proto, err := nat.ParseProto(f.Proto)
		if err != nil {
			bad(key("proto"), "want tcp or udp, got %q", f.Proto)
		}
		if f.Port <= 0 || f.Port > 65535 {
			bad(key("port"), "want 1-65535, got %d", f.Port)
		} else if proto == nat.TCP && f.Port == pptpPort {
			bad(key("port"), "tcp %d is the pptp port", f.Port)
		}
		id := fmt.Sprintf("%v/%d", proto, f.Port)
		if j, dup := seen[id]; dup && err == nil {
			bad(key("port"), "%s already forwarded by port_forward %d", id, j)
		}
		seen[id] = i
		to, terr := netip.ParseAddrPort(f.To)
		switch {
		case terr != nil || !to.Addr().Is4() || to.Port() == 0:
			bad(key("to"), "want an inside IPv4 address:port, got %q", f.To)
		case !lanNet.IsValid() || !lanNet.Contains(to.Addr()):
			bad(key("to"), "%s is not inside the lan subnet %v", to.Addr(), lanNet)
		}
	}
	return errs
}

func (c *Config) validateLANDHCP(lanNet netip.Prefix) []error {
	d := &c.LAN.DHCP
	if !d.Enabled {
		return nil
	}
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, c.errorf(key, format, args...)) }
	first, last, err := dhcpRange(d.Range)
	if err != nil {
		bad("lan.dhcp.range", "%v", err)
	} else if lanNet.IsValid() {
		if !lanNet.Contains(first) || !lanNet.Contains(last) {
			bad("lan.dhcp.range", "%s-%s is not inside the lan subnet %s", first, last, lanNet)
		} else if self := c.LAN.LANPrefix().Addr(); !self.Less(first) && !last.Less(self) {
			bad("lan.dhcp.range", "%s-%s holds the box's own address %s", first, last, self)
		}
		if c.PPTP.Enabled {
			for _, r := range c.PPTP.params.Pool {
				if !(r.Last.Less(first) || last.Less(r.First)) {
					bad("lan.dhcp.range", "%s-%s overlaps the vpn pool %s", first, last, r)
				}
			}
		}
	}
	if d.LeaseTime.Duration < time.Minute {
		bad("lan.dhcp.lease_time", "must be at least 1m, got %v", d.LeaseTime.Duration)
	}
	for _, s := range d.DNS {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			bad("lan.dhcp.dns", "not an IPv4 address: %q", s)
		}
	}
	return errs
}

func rangeOverlaps(r ippool.Range, p netip.Prefix) bool {
	lo, hi := p.Masked().Addr(), lastAddr(p)
	return !(r.Last.Less(lo) || hi.Less(r.First))
}

func coveredBy(r ippool.Range, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(r.First) && p.Contains(r.Last) {
			return true
		}
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

func (c *Config) pptpPort() int {
	if !c.PPTP.Enabled {
		return 0
	}
	return c.PPTP.params.ListenPort
}

// CheckInterfaces reports configured interfaces the system does not have
// (exists is netcfg.LinkIndex-backed in boxd), each error naming its key.
// Validate cannot do it: it must not depend on the machine.
func (c *Config) CheckInterfaces(exists func(name string) bool) error {
	var errs []error
	check := func(key, name string) {
		if name != "" && !exists(name) {
			errs = append(errs, c.errorf(key, "no interface %q on this system", name))
		}
	}
	check("wan.interface", c.WAN.Interface)
	if c.LAN.Enabled {
		check("lan.interface", c.LAN.Interface)
	}
	return errors.Join(errs...)
}

// Ports is the port configuration for netcfg (ResolvConf is the
// caller's). Valid after Validate.
func (c *Config) Ports() netcfg.Ports {
	w := &c.WAN
	p := netcfg.Ports{WAN: netcfg.WAN{Iface: w.Interface, DHCP: w.Mode == "dhcp", MTU: w.MTU, Hostname: w.Hostname,
		DNS: parseAddrs(w.DNS)}}
	if !p.WAN.DHCP {
		p.WAN.Addr = w.WANPrefix()
		p.WAN.Gateway, _ = netip.ParseAddr(w.Gateway)
	}
	if c.LAN.Enabled {
		l := &c.LAN
		p.LAN = &netcfg.LAN{Iface: l.Interface, Addr: l.LANPrefix(), MTU: l.MTU}
	}
	return p
}

// DHCPServer is the LAN DHCP server's configuration, nil when [lan] or
// [lan.dhcp] is off; its interface and addresses are left to default to
// the LAN port's (pkg/router fills them). Valid after Validate.
func (c *Config) DHCPServer() *dhcpd.Config {
	d := &c.LAN.DHCP
	if !c.LAN.Enabled || !d.Enabled {
		return nil
	}
	first, last, _ := dhcpRange(d.Range)
	dns := parseAddrs(d.DNS)
	if len(dns) == 0 {
		dns = c.PPTP.DNSAddrs()
	}
	return &dhcpd.Config{RangeStart: first, RangeEnd: last, LeaseTime: d.LeaseTime.Duration,
		DNS: dns, Domain: d.Domain, LeaseFile: d.LeaseFile}
}

// NATParams is the nat table for this config, with the WAN address
// unknown in DHCP mode (pkg/router sets it from the lease). Valid after
// Validate.
func (c *Config) NATParams() nat.Params {
	p := nat.Params{
		WAN:             c.WAN.Interface,
		Masquerade:      c.masquerade(),
		ClampMSS:        uint16(c.NAT.TCPMSS.Value),
		ClampPMTU:       c.NAT.TCPMSS.PMTU,
		VPNToLAN:        c.NAT.VPNToLAN,
		PPTPPassthrough: c.NAT.PPTPPassthrough,
		PPTPPort:        uint16(c.pptpPort()),
		ICMPRate:        uint32(c.Firewall.ICMPRate),
		MgmtFromVPN:     c.Firewall.ManagementFromVPN,
	}
	if c.WAN.Mode == "static" {
		p.WANAddr = c.WAN.WANPrefix().Addr()
	}
	if c.LAN.Enabled {
		p.LAN, p.LANPrefix = c.LAN.Interface, c.LAN.LANPrefix().Masked()
	}
	if c.PPTP.Enabled {
		p.VPN = c.PPTP.Tun
		if pool, ok := c.poolPrefix(); ok {
			p.VPNPools = []netip.Prefix{pool}
		}
	}
	for _, port := range c.Firewall.ManagementPorts {
		p.MgmtTCPPorts = append(p.MgmtTCPPorts, uint16(port))
	}
	for _, f := range c.PortForwards {
		proto, _ := nat.ParseProto(f.Proto)
		to, _ := netip.ParseAddrPort(f.To)
		p.Forwards = append(p.Forwards, nat.PortForward{Proto: proto, Port: uint16(f.Port), To: to})
	}
	return p
}
