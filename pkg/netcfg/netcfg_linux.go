package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dial opens a route netlink socket in the calling thread's namespace.
// Strict checking makes the kernel filter dumps by the request's fields.
func dial() (*rtnetlink.Conn, error) {
	c, err := rtnetlink.Dial(&netlink.Config{Strict: true})
	if err != nil {
		return nil, fmt.Errorf("netcfg: dial rtnetlink: %w", err)
	}
	return c, nil
}

// linkByName resolves an interface name with an RTM_GETLINK request for
// that name only (IFLA_IFNAME filter, Linux 2.6.33+).
func linkByName(c *rtnetlink.Conn, name string) (rtnetlink.LinkMessage, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: bad interface name %q", name)
	}
	msgs, err := c.Execute(&rtnetlink.LinkMessage{
		Family:     unix.AF_UNSPEC,
		Attributes: &rtnetlink.LinkAttributes{Name: name},
	}, unix.RTM_GETLINK, netlink.Request)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: interface %q: %w", name, ErrNoSuchLink)
		}
		return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: interface %q: %w", name, err)
	}
	for _, m := range msgs {
		if lm, ok := m.(*rtnetlink.LinkMessage); ok {
			return *lm, nil
		}
	}
	return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: interface %q: %w", name, ErrNoSuchLink)
}

func withLink(name string, fn func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error) error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	lm, err := linkByName(c, name)
	if err != nil {
		return err
	}
	return fn(c, lm)
}

// LinkIndex returns the kernel index of interface name.
func LinkIndex(name string) (int, error) {
	var idx int
	err := withLink(name, func(_ *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		idx = int(lm.Index)
		return nil
	})
	return idx, err
}

// LinkUp sets IFF_UP on interface name (ip link set dev NAME up).
func LinkUp(name string) error {
	return setLinkFlag(name, unix.IFF_UP, true)
}

// LinkDown clears IFF_UP on interface name.
func LinkDown(name string) error {
	return setLinkFlag(name, unix.IFF_UP, false)
}

func setLinkFlag(name string, flag uint32, on bool) error {
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		var flags uint32
		if on {
			flags = flag
		}
		err := c.Link.Set(&rtnetlink.LinkMessage{
			Family: unix.AF_UNSPEC,
			Type:   lm.Type,
			Index:  lm.Index,
			Flags:  flags,
			Change: flag,
		})
		if err != nil {
			return fmt.Errorf("netcfg: set %s flags %#x=%v: %w", name, flag, on, err)
		}
		return nil
	})
}

// SetMTU sets the MTU of interface name.
func SetMTU(name string, mtu int) error {
	// 68 is the IPv4 minimum (RFC 791); 65535 the largest IP datagram.
	if mtu < 68 || mtu > 65535 {
		return fmt.Errorf("netcfg: set %s mtu: %d out of range 68-65535", name, mtu)
	}
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		if lm.Attributes != nil && lm.Attributes.MTU == uint32(mtu) {
			return nil
		}
		err := c.Link.Set(&rtnetlink.LinkMessage{
			Family:     unix.AF_UNSPEC,
			Type:       lm.Type,
			Index:      lm.Index,
			Attributes: &rtnetlink.LinkAttributes{MTU: uint32(mtu)},
		})
		if err != nil {
			return fmt.Errorf("netcfg: set %s mtu %d: %w", name, mtu, err)
		}
		return nil
	})
}

// LinkMTU returns the MTU of interface name.
func LinkMTU(name string) (int, error) {
	var mtu int
	err := withLink(name, func(_ *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		if lm.Attributes != nil {
			mtu = int(lm.Attributes.MTU)
		}
		return nil
	})
	return mtu, err
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func ipOf(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

// addrMessage builds the RTM_NEWADDR/RTM_DELADDR body. For a point-to-point
// address IFA_LOCAL is ours and IFA_ADDRESS the peer (rtnetlink(7)).
func addrMessage(index uint32, prefix netip.Prefix, peer netip.Addr) (*rtnetlink.AddressMessage, error) {
	a := prefix.Addr().Unmap()
	if !a.IsValid() {
		return nil, errors.New("invalid prefix")
	}
	if peer.IsValid() && peer.Unmap().Is4() != a.Is4() {
		return nil, fmt.Errorf("peer %s and address %s differ in family", peer, a)
	}
	attrs := &rtnetlink.AddressAttributes{Address: ipOf(a), Local: ipOf(a)}
	if peer.IsValid() {
		attrs.Address = ipOf(peer.Unmap())
	} else if a.Is4() && prefix.Bits() < 31 {
		attrs.Broadcast = ipOf(broadcast(netip.PrefixFrom(a, prefix.Bits())))
	}
	if a.Is6() {
		attrs.Local = nil
	}
	return &rtnetlink.AddressMessage{
		Family:       family(a),
		PrefixLength: uint8(prefix.Bits()),
		Scope:        unix.RT_SCOPE_UNIVERSE,
		Index:        index,
		Attributes:   attrs,
	}, nil
}

// broadcast returns the all-ones host address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := range 4 {
		for j := range 8 {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	return netip.AddrFrom4(b)
}

// AddAddr adds prefix (address and prefix length) to interface name; peer,
// when valid, makes it a point-to-point address (ip addr add A peer P).
// Adding an address that is already there is not an error: the request has
// NLM_F_REPLACE without NLM_F_EXCL, which the kernel treats as an update.
func AddAddr(name string, prefix netip.Prefix, peer netip.Addr) error {
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		m, err := addrMessage(lm.Index, prefix, peer)
		if err == nil {
			_, err = c.Execute(m, unix.RTM_NEWADDR,
				netlink.Request|netlink.Create|netlink.Replace|netlink.Acknowledge)
		}
		if err != nil {
			return fmt.Errorf("netcfg: add address %s peer %v to %s: %w", prefix, peer, name, err)
		}
		return nil
	})
}

// DelAddr removes prefix from interface name; an absent address is not an error.
func DelAddr(name string, prefix netip.Prefix) error {
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		m, err := addrMessage(lm.Index, prefix, netip.Addr{})
		if err == nil {
			m.Attributes.Broadcast = nil
			err = c.Address.Delete(m)
		}
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("netcfg: delete address %s from %s: %w", prefix, name, err)
		}
		return nil
	})
}

// Addrs lists the addresses of interface name (both families), as prefixes
// carrying the local address.
func Addrs(name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		msgs, err := c.Execute(&rtnetlink.AddressMessage{Index: lm.Index}, unix.RTM_GETADDR,
			netlink.Request|netlink.Dump)
		if err != nil {
			return fmt.Errorf("netcfg: list addresses of %s: %w", name, err)
		}
		for _, m := range msgs {
			am, ok := m.(*rtnetlink.AddressMessage)
			if !ok || am.Index != lm.Index || am.Attributes == nil {
				continue
			}
			ip := am.Attributes.Local
			if ip == nil {
				ip = am.Attributes.Address
			}
			a, ok := netip.AddrFromSlice(ip)
			if !ok {
				continue
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), int(am.PrefixLength)))
		}
		return nil
	})
	return out, err
}

// routeMessage builds a main-table unicast route. Routes we add carry
// RTPROT_STATIC so `ip route` shows them apart from kernel and DHCP-daemon ones.
func routeMessage(dst netip.Prefix, gw netip.Addr, index uint32) *rtnetlink.RouteMessage {
	dst = dst.Masked()
	scope := uint8(unix.RT_SCOPE_LINK)
	if gw.IsValid() {
		scope = unix.RT_SCOPE_UNIVERSE
	}
	m := &rtnetlink.RouteMessage{
		Family:    family(dst.Addr()),
		DstLength: uint8(dst.Bits()),
		Table:     unix.RT_TABLE_MAIN,
		Protocol:  unix.RTPROT_STATIC,
		Scope:     scope,
		Type:      unix.RTN_UNICAST,
		Attributes: rtnetlink.RouteAttributes{
			OutIface: index,
			Table:    unix.RT_TABLE_MAIN,
		},
	}
	if dst.Bits() > 0 {
		m.Attributes.Dst = ipOf(dst.Addr())
	}
	if gw.IsValid() {
		m.Attributes.Gateway = ipOf(gw.Unmap())
	}
	return m
}

// AddRoute routes dst out of interface dev (scope link), replacing any
// route to the same destination, so repeating it is harmless.
func AddRoute(dst netip.Prefix, dev string) error {
	return AddRouteVia(dst, netip.Addr{}, dev)
}

// AddRouteVia routes dst through gateway gw on interface dev (the default
// route when dst is 0.0.0.0/0), replacing any route to the same destination.
// A zero gw makes it a link route, as AddRoute.
func AddRouteVia(dst netip.Prefix, gw netip.Addr, dev string) error {
	if !dst.IsValid() {
		return fmt.Errorf("netcfg: add route via %s dev %s: invalid destination", gw, dev)
	}
	return withLink(dev, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		if err := c.Route.Replace(routeMessage(dst, gw, lm.Index)); err != nil {
			return fmt.Errorf("netcfg: add route %s via %v dev %s: %w", dst.Masked(), gw, dev, err)
		}
		return nil
	})
}

// DelRoute removes the route to dst out of dev; an absent route is not an error.
func DelRoute(dst netip.Prefix, dev string) error {
	if !dst.IsValid() {
		return fmt.Errorf("netcfg: delete route dev %s: invalid destination", dev)
	}
	return withLink(dev, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		m := routeMessage(dst, netip.Addr{}, lm.Index)
		// Leave protocol and scope open so the delete matches routes
		// whoever added them (RTPROT_UNSPEC / RT_SCOPE_NOWHERE are wildcards).
		m.Protocol = unix.RTPROT_UNSPEC
		m.Scope = unix.RT_SCOPE_NOWHERE
		m.Type = unix.RTN_UNSPEC
		err := c.Route.Delete(m)
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("netcfg: delete route %s dev %s: %w", dst.Masked(), dev, err)
		}
		return nil
	})
}

// Route is one main-table route as the kernel reports it.
type Route struct {
	Dst      netip.Prefix
	Gateway  netip.Addr // zero for a link route
	Dev      int        // interface index
	Protocol uint8      // RTPROT_*
}

// Routes lists the IPv4 routes of the main table.
func Routes() ([]Route, error) {
	c, err := dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msgs, err := c.Route.ListMatch(&rtnetlink.RouteMessage{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN})
	if err != nil {
		return nil, fmt.Errorf("netcfg: list routes: %w", err)
	}
	var out []Route
	for _, m := range msgs {
		if m.Table != unix.RT_TABLE_MAIN || m.Type != unix.RTN_UNICAST {
			continue
		}
		dst := netip.IPv4Unspecified()
		if a, ok := netip.AddrFromSlice(m.Attributes.Dst); ok {
			dst = a.Unmap()
		}
		r := Route{
			Dst:      netip.PrefixFrom(dst, int(m.DstLength)),
			Dev:      int(m.Attributes.OutIface),
			Protocol: m.Protocol,
		}
		if gw, ok := netip.AddrFromSlice(m.Attributes.Gateway); ok {
			r.Gateway = gw.Unmap()
		}
		out = append(out, r)
	}
	return out, nil
}

// proxyNeigh builds an NTF_PROXY neighbour entry: the kernel answers ARP
// requests for addr on dev with dev's own MAC (ip neigh add proxy ADDR dev DEV),
// which is what pppd's "proxyarp" does for a peer inside the LAN subnet.
//
// rtnetlink v2 always encodes NDA_LLADDR, and the kernel rejects one shorter
// than the device's address, so we pass the device's own MAC, which a
// proxy entry ignores.
func proxyNeigh(addr netip.Addr, lm rtnetlink.LinkMessage) *rtnetlink.NeighMessage {
	var mac net.HardwareAddr
	if lm.Attributes != nil {
		mac = lm.Attributes.Address
	}
	return &rtnetlink.NeighMessage{
		Family:     uint16(family(addr)),
		Index:      lm.Index,
		State:      unix.NUD_PERMANENT,
		Flags:      unix.NTF_PROXY,
		Attributes: &rtnetlink.NeighAttributes{Address: ipOf(addr.Unmap()), LLAddress: mac},
	}
}

// AddProxyARP publishes addr on interface dev with a proxy neighbour entry.
// It is idempotent.
func AddProxyARP(addr netip.Addr, dev string) error {
	return withLink(dev, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		_, err := c.Execute(proxyNeigh(addr, lm), unix.RTM_NEWNEIGH,
			netlink.Request|netlink.Create|netlink.Replace|netlink.Acknowledge)
		if err != nil {
			return fmt.Errorf("netcfg: add proxy arp %s dev %s: %w", addr, dev, err)
		}
		return nil
	})
}

// DelProxyARP removes the proxy neighbour entry of addr on dev; an absent
// entry is not an error.
func DelProxyARP(addr netip.Addr, dev string) error {
	return withLink(dev, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		_, err := c.Execute(proxyNeigh(addr, lm), unix.RTM_DELNEIGH,
			netlink.Request|netlink.Acknowledge)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("netcfg: delete proxy arp %s dev %s: %w", addr, dev, err)
		}
		return nil
	})
}
