package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/nat"
)

// Interfaces lists the network interfaces as the kernel has them, each
// with its role in the config (wan, lan, tun) when it has one.
func (a boxAPI) Interfaces(ctx context.Context) ([]control.Interface, error) {
	var links []rtnetlink.LinkMessage
	var addrs []rtnetlink.AddressMessage
	err := withRtnetlink("interfaces", func(c *rtnetlink.Conn) (err error) {
		if links, err = c.Link.List(); err != nil {
			return err
		}
		addrs, err = c.Address.List()
		return err
	})
	if err != nil {
		return nil, err
	}
	return interfacesFrom(links, addrs, a.b.roles()), nil
}

// withRtnetlink runs fn on a new rtnetlink connection (in the calling
// thread's network namespace); an error is CodeInternal, named by what.
func withRtnetlink(what string, fn func(c *rtnetlink.Conn) error) error {
	c, err := rtnetlink.Dial(nil)
	if err != nil {
		return control.Errorf(control.CodeInternal, "%s: netlink: %v", what, err)
	}
	defer c.Close()
	if err := fn(c); err != nil {
		return control.Errorf(control.CodeInternal, "%s: %v", what, err)
	}
	return nil
}

// roles names the interfaces of the config: the WAN and LAN ports and the
// PPTP server's TUN device.
func (b *box) roles() map[string]string {
	b.mu.Lock()
	cfg := b.cfg
	b.mu.Unlock()
	r := map[string]string{}
	p := cfg.Ports()
	if cfg.RouterEnabled() && p.WAN.Iface != "" {
		r[p.WAN.Iface] = "wan"
	}
	if cfg.RouterEnabled() && p.LAN != nil && p.LAN.Iface != "" {
		r[p.LAN.Iface] = "lan"
	}
	if cfg.PPTP.Enabled && cfg.PPTP.Tun != "" {
		r[cfg.PPTP.Tun] = "tun"
	}
	return r
}

// interfacesFrom maps rtnetlink's links and addresses, in index order.
func interfacesFrom(links []rtnetlink.LinkMessage, addrs []rtnetlink.AddressMessage, roles map[string]string) []control.Interface {
	slices.SortFunc(links, func(a, b rtnetlink.LinkMessage) int { return cmp.Compare(a.Index, b.Index) })
	byIndex := map[uint32][]string{}
	for _, am := range addrs {
		if am.Attributes == nil {
			continue
		}
		ip := am.Attributes.Local // a point-to-point address's own end
		if ip == nil {
			ip = am.Attributes.Address
		}
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		if p, err := a.Unmap().Prefix(int(am.PrefixLength)); err == nil {
			byIndex[am.Index] = append(byIndex[am.Index], netip.PrefixFrom(a.Unmap(), p.Bits()).String())
		}
	}
	out := make([]control.Interface, 0, len(links))
	for _, lm := range links {
		at := lm.Attributes
		if at == nil {
			continue
		}
		i := control.Interface{
			Name:      at.Name,
			Role:      roles[at.Name],
			Up:        lm.Flags&unix.IFF_UP != 0 && (at.OperationalState == rtnetlink.OperStateUp || at.OperationalState == rtnetlink.OperStateUnknown),
			MTU:       int(at.MTU),
			Addresses: byIndex[lm.Index],
		}
		if len(at.Address) > 0 {
			i.MAC = at.Address.String()
		}
		if s := at.Stats64; s != nil {
			i.RxBytes, i.TxBytes, i.RxPackets, i.TxPackets, i.RxDropped, i.TxDropped =
				s.RXBytes, s.TXBytes, s.RXPackets, s.TXPackets, s.RXDropped, s.TXDropped
		} else if s := at.Stats; s != nil {
			i.RxBytes, i.TxBytes, i.RxPackets, i.TxPackets, i.RxDropped, i.TxDropped =
				uint64(s.RXBytes), uint64(s.TXBytes), uint64(s.RXPackets), uint64(s.TXPackets), uint64(s.RXDropped), uint64(s.TXDropped)
		}
		out = append(out, i)
	}
	return out
}

// Routes lists the IPv4 routes of the main table.
func (a boxAPI) Routes(ctx context.Context) ([]control.Route, error) {
	var routes []rtnetlink.RouteMessage
	var links []rtnetlink.LinkMessage
	err := withRtnetlink("routes", func(c *rtnetlink.Conn) (err error) {
		if routes, err = c.Route.List(); err != nil {
			return err
		}
		links, err = c.Link.List()
		return err
	})
	if err != nil {
		return nil, err
	}
	names := map[uint32]string{}
	for _, lm := range links {
		if lm.Attributes != nil {
			names[lm.Index] = lm.Attributes.Name
		}
	}
	return routesFrom(routes, names), nil
}

// routesFrom maps rtnetlink's routes: IPv4, main table, not cached.
func routesFrom(routes []rtnetlink.RouteMessage, names map[uint32]string) []control.Route {
	var out []control.Route
	for _, rm := range routes {
		table := uint32(rm.Table)
		if rm.Attributes.Table != 0 {
			table = rm.Attributes.Table
		}
		if rm.Family != unix.AF_INET || table != unix.RT_TABLE_MAIN || rm.Flags&unix.RTM_F_CLONED != 0 {
			continue
		}
		at := rm.Attributes
		r := control.Route{Dst: "default", Dev: names[at.OutIface], Protocol: routeProto(rm.Protocol), Metric: at.Priority}
		if rm.DstLength > 0 || at.Dst != nil {
			if a, ok := netip.AddrFromSlice(at.Dst); ok {
				r.Dst = netip.PrefixFrom(a.Unmap(), int(rm.DstLength)).String()
			} else {
				r.Dst = fmt.Sprintf("?/%d", rm.DstLength) // a prefix length without an address
			}
		}
		if a, ok := netip.AddrFromSlice(at.Gateway); ok {
			r.Gateway = a.Unmap().String()
		}
		if a, ok := netip.AddrFromSlice(at.Src); ok {
			r.Src = a.Unmap().String()
		}
		switch rm.Type {
		case unix.RTN_BLACKHOLE:
			r.Dev = "blackhole"
		case unix.RTN_UNREACHABLE:
			r.Dev = "unreachable"
		case unix.RTN_PROHIBIT:
			r.Dev = "prohibit"
		}
		out = append(out, r)
	}
	return out
}

// routeProto names a route's origin as iproute2 does.
func routeProto(p uint8) string {
	switch p {
	case unix.RTPROT_KERNEL:
		return "kernel"
	case unix.RTPROT_BOOT:
		return "boot"
	case unix.RTPROT_STATIC:
		return "static"
	case unix.RTPROT_DHCP:
		return "dhcp"
	case unix.RTPROT_RA:
		return "ra"
	case unix.RTPROT_UNSPEC:
		return ""
	}
	return fmt.Sprintf("proto-%d", p)
}

// NAT lists the rules of boxd's nftables table with their counters, and
// the table's named counters.
func (a boxAPI) NAT(ctx context.Context) (control.NATReply, error) {
	if a.b.router == nil {
		return control.NATReply{}, control.Errorf(control.CodeUnavailable, "the router is off (no [wan] section): boxd owns no nftables table")
	}
	rules, counters, err := nat.ReadRules()
	if errors.Is(err, unix.ENOENT) || err == nil && len(rules) == 0 && len(counters) == 0 {
		// An applied table always has its named counters.
		return control.NATReply{}, control.Errorf(control.CodeUnavailable, "the nftables table inet %s is not applied (yet)", nat.TableName)
	}
	if err != nil {
		return control.NATReply{}, control.Errorf(control.CodeInternal, "%v", err)
	}
	return natReply(rules, counters), nil
}

func natReply(rules []nat.Rule, counters []nat.Counter) control.NATReply {
	out := control.NATReply{Enabled: true, Table: "inet " + nat.TableName}
	for _, r := range rules {
		out.Rules = append(out.Rules, control.NATRule{Chain: r.Chain, Comment: r.Comment, Counter: r.Counter, Packets: r.Packets, Bytes: r.Bytes})
	}
	for _, c := range counters {
		// Packets only: control.Counter is one value; a rule shows both.
		out.Counters = append(out.Counters, control.Counter{Name: c.Name, Value: c.Packets})
	}
	return out
}

// Leases lists the LAN DHCP server's leases.
func (a boxAPI) Leases(ctx context.Context) ([]control.Lease, error) {
	if a.b.router == nil {
		return nil, control.Errorf(control.CodeUnavailable, "the router is off (no [wan] section): no LAN DHCP server")
	}
	ls, ok := a.b.router.Leases()
	if !ok {
		return nil, control.Errorf(control.CodeUnavailable, "the LAN DHCP server is off ([lan.dhcp]) or not started yet")
	}
	return controlLeases(ls), nil
}

func controlLeases(ls []dhcpd.Lease) []control.Lease {
	out := make([]control.Lease, 0, len(ls))
	for _, l := range ls {
		out = append(out, control.Lease{IP: l.Addr.String(), MAC: l.MAC, Hostname: l.Hostname, Expires: l.Expiry})
	}
	return out
}
