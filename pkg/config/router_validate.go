package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/nat"
)

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

// validateRouter checks the router sections; see Validate. The errors
// come in the order of the file: [wan], [lan], the pool's route, [nat],
// [firewall], [[port_forward]].
func (c *Config) validateRouter() []error {
	wanNet, errs := c.validateWAN()
	lanNet, lanErrs := c.validateLAN(wanNet)
	errs = append(errs, lanErrs...)
	errs = append(errs, c.validatePoolRoute(wanNet, lanNet)...)
	errs = append(errs, c.validateFirewall()...)
	errs = append(errs, c.validatePortForwards(lanNet)...)
	return errs
}

// validateWAN checks [wan] and returns its subnet (invalid in DHCP mode
// or when wan.address is bad).
func (c *Config) validateWAN() (netip.Prefix, []error) {
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
	errs = append(errs, c.validatePortMTU("wan.mtu", w.MTU)...)
	return wanNet, errs
}

// validatePortMTU checks wan.mtu or lan.mtu.
func (c *Config) validatePortMTU(key string, m int) []error {
	if m != 0 && (m < 576 || m > 9000) {
		return []error{c.errorf(key, "must be 0 (keep) or between 576 and 9000, got %d", m)}
	}
	return nil
}

// validateLAN checks [lan] with [lan.dhcp] and that pptp.tun is neither
// port; it returns the LAN subnet (invalid when [lan] is off or
// lan.address is bad).
func (c *Config) validateLAN(wanNet netip.Prefix) (netip.Prefix, []error) {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, c.errorf(key, format, args...)) }

	w, l := &c.WAN, &c.LAN
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
		errs = append(errs, c.validatePortMTU("lan.mtu", l.MTU)...)
		errs = append(errs, c.validateLANDHCP(lanNet)...)
	}
	if c.PPTP.Enabled && (c.PPTP.Tun == w.Interface || (l.Enabled && c.PPTP.Tun == l.Interface)) {
		bad("pptp.tun", "%q is also a wan/lan interface", c.PPTP.Tun)
	}
	return lanNet, errs
}

// validatePoolRoute checks nat.masquerade and that the VPN pool is
// routable: inside the LAN subnet (reached by proxy ARP, like the seed's
// proxyarp) or in a masqueraded prefix; never straddling the LAN or
// inside the WAN subnet.
func (c *Config) validatePoolRoute(wanNet, lanNet netip.Prefix) []error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, c.errorf(key, format, args...)) }

	masq := c.masquerade()
	for i, s := range c.NAT.Masquerade {
		if p, err := netip.ParsePrefix(s); err != nil || !p.Addr().Is4() {
			bad(fmt.Sprintf("nat.masquerade.%d", i), "not an IPv4 prefix: %q", s)
		}
	}
	if !c.PPTP.Enabled {
		return errs
	}
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
	return errs
}

// validateFirewall checks nat.tcp_mss and [firewall].
func (c *Config) validateFirewall() []error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, c.errorf(key, format, args...)) }

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
	return errs
}

// validatePortForwards checks [[port_forward]]: each forward's target
// must be inside the LAN subnet.
func (c *Config) validatePortForwards(lanNet netip.Prefix) []error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, c.errorf(key, format, args...)) }

	pptpPort := c.pptpPort()
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
