package config

import (
	"errors"
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

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
	if c.RadiusEnabled() && c.Radius.DAEListen != "" {
		p.DAEPort, p.DAESources = c.Radius.DAEPort(), c.Radius.DAESources()
	}
	for _, d := range c.Dials() {
		p.Sites = append(p.Sites, nat.Site{Iface: d.Iface, Masquerade: d.Masquerade})
	}
	for _, f := range c.PortForwards {
		proto, _ := nat.ParseProto(f.Proto)
		to, _ := netip.ParseAddrPort(f.To)
		p.Forwards = append(p.Forwards, nat.PortForward{Proto: proto, Port: uint16(f.Port), To: to})
	}
	return p
}
