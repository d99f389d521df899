package netcfg

import "net/netip"

// sysctls the router needs (ip-sysctl.txt): forwarding on; strict reverse
// path filtering (RFC 3704 §2.2) on the ports so spoofed sources are
// dropped before they reach the rules.
func wanSysctls(iface string) [][2]string {
	return [][2]string{
		{"net/ipv4/conf/" + iface + "/rp_filter", "1"},
		// A WAN that also answers ARP for other ports' addresses
		// confuses upstream; answer only for addresses on the WAN itself.
		{"net/ipv4/conf/" + iface + "/arp_ignore", "1"},
	}
}

func setSysctls(s [][2]string) error {
	for _, kv := range s {
		if err := SetSysctl(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// Configure programs everything that is not a running service: sysctls,
// links up with their MTU, the LAN address, and a static WAN. It is
// idempotent, for start and reload. All the ports must exist; a router
// that runs with a port absent (a card missing) calls EnableForwarding
// and then ConfigureLAN and ConfigureWAN for each port once it is there.
func (p *Ports) Configure() error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := EnableForwarding(); err != nil {
		return err
	}
	if p.LAN != nil {
		if err := p.ConfigureLAN(); err != nil {
			return err
		}
	}
	return p.ConfigureWAN()
}

// EnableForwarding turns IPv4 forwarding on.
func EnableForwarding() error { return SetSysctl("net/ipv4/ip_forward", "1") }

// ConfigureLAN programs the LAN port: reverse path filtering, up with its
// MTU, its address.
func (p *Ports) ConfigureLAN() error {
	if p.LAN == nil {
		return nil
	}
	if err := setSysctls([][2]string{{"net/ipv4/conf/" + p.LAN.Iface + "/rp_filter", "1"}}); err != nil {
		return err
	}
	if err := upWithMTU(p.LAN.Iface, p.LAN.MTU); err != nil {
		return err
	}
	return AddAddr(p.LAN.Iface, p.LAN.Addr, netip.Addr{})
}

// ConfigureWAN programs the WAN port: its sysctls, up with its MTU, and in
// static mode its address, default route and resolver (a DHCP WAN gets
// those from its lease).
func (p *Ports) ConfigureWAN() error {
	if err := setSysctls(wanSysctls(p.WAN.Iface)); err != nil {
		return err
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
