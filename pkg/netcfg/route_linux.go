package netcfg

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"
)

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
