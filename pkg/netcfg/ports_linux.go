package netcfg

import "net/netip"

// sysctls the router needs (ip-sysctl.txt): forwarding on; strict reverse
// path filtering (RFC 3704 §2.2) on the ports so spoofed sources are
// dropped before they reach the rules.
func (p *Ports) sysctls() [][2]string {
	s := [][2]string{
		{"net/ipv4/ip_forward", "1"},
		{"net/ipv4/conf/" + p.WAN.Iface + "/rp_filter", "1"},
		// A WAN that also answers ARP for other ports' addresses
		// confuses upstream; answer only for addresses on the WAN itself.
		{"net/ipv4/conf/" + p.WAN.Iface + "/arp_ignore", "1"},
	}
	if p.LAN != nil {
		s = append(s, [2]string{"net/ipv4/conf/" + p.LAN.Iface + "/rp_filter", "1"})
	}
	return s
}

// Configure programs everything that is not a running service: sysctls,
// links up with their MTU, the LAN address, and a static WAN. It is
// idempotent, for start and reload.
func (p *Ports) Configure() error {
	if err := p.Validate(); err != nil {
		return err
	}
	for _, s := range p.sysctls() {
		if err := SetSysctl(s[0], s[1]); err != nil {
			return err
		}
	}
	if p.LAN != nil {
		if err := upWithMTU(p.LAN.Iface, p.LAN.MTU); err != nil {
			return err
		}
		if err := AddAddr(p.LAN.Iface, p.LAN.Addr, netip.Addr{}); err != nil {
			return err
		}
	}
	if err := upWithMTU(p.WAN.Iface, p.WAN.MTU); err != nil {
		return err
	}
	if p.WAN.DHCP {
		return nil
	}
	if err := AddAddr(p.WAN.Iface, p.WAN.Addr, netip.Addr{}); err != nil {
		return err
	}
	if p.WAN.Gateway.IsValid() {
		if err := AddRouteVia(netip.PrefixFrom(netip.IPv4Unspecified(), 0), p.WAN.Gateway, p.WAN.Iface); err != nil {
			return err
		}
	}
	if p.ResolvConf != "" && len(p.WAN.DNS) > 0 {
		return WriteResolvConf(p.ResolvConf, p.WAN.DNS)
	}
	return nil
}

func upWithMTU(name string, mtu int) error {
	if mtu != 0 {
		if err := SetMTU(name, mtu); err != nil {
			return err
		}
	}
	return LinkUp(name)
}
