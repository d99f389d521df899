package ippool

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Route is a subnet routed through a session's client (a site-to-site
// peer's LAN): [[user]] routes, or RADIUS Framed-Route (RFC 2865 §5.22).
type Route struct {
	Prefix netip.Prefix // masked, IPv4
	// Gateway is the route's next hop; the zero Addr (Framed-Route's
	// 0.0.0.0 or none) is the client's own address, the only one a PPTP
	// session can reach.
	Gateway netip.Addr
	Metric  int
}

// ParseRoute reads a route in Framed-Route text: "prefix [gateway
// [metric...]]", the prefix as a.b.c.d/n (a bare address is a /32); a
// gateway of 0.0.0.0 is the client. Host bits set in the prefix are an
// error (the operator meant another subnet), as is an IPv6 or default
// (/0) route: a client must not take the whole box's traffic.
func ParseRoute(s string) (Route, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Route{}, errors.New("empty route")
	}
	var r Route
	var err error
	if strings.Contains(f[0], "/") {
		r.Prefix, err = netip.ParsePrefix(f[0])
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(f[0])
		if err == nil {
			r.Prefix = netip.PrefixFrom(a, a.BitLen())
		}
	}
	switch {
	case err != nil:
		return Route{}, fmt.Errorf("route %q: want a.b.c.d/n", f[0])
	case !r.Prefix.Addr().Is4():
		return Route{}, fmt.Errorf("route %q: IPv4 only", f[0])
	case r.Prefix.Masked() != r.Prefix:
		return Route{}, fmt.Errorf("route %q: host bits set (the subnet is %s)", f[0], r.Prefix.Masked())
	case r.Prefix.Bits() == 0:
		return Route{}, fmt.Errorf("route %q: a default route is not routed to a client", f[0])
	}
	if len(f) > 1 {
		g, err := netip.ParseAddr(f[1])
		if err != nil || !g.Is4() {
			return Route{}, fmt.Errorf("route gateway %q: want an IPv4 address", f[1])
		}
		if !g.IsUnspecified() {
			r.Gateway = g
		}
	}
	if len(f) > 2 {
		// RFC 2865 §5.22: "one or more metrics"; the first one counts.
		m, err := strconv.ParseUint(f[2], 10, 16)
		if err != nil {
			return Route{}, fmt.Errorf("route metric %q: want a number 0-65535", f[2])
		}
		r.Metric = int(m)
		for _, x := range f[3:] {
			if _, err := strconv.ParseUint(x, 10, 16); err != nil {
				return Route{}, fmt.Errorf("route metric %q: want a number 0-65535", x)
			}
		}
	}
	return r, nil
}

// String is r in Framed-Route text, which ParseRoute reads back.
func (r Route) String() string {
	s := r.Prefix.String()
	if r.Gateway.IsValid() || r.Metric != 0 {
		g := "0.0.0.0"
		if r.Gateway.IsValid() {
			g = r.Gateway.String()
		}
		s += " " + g
		if r.Metric != 0 {
			s += " " + strconv.Itoa(r.Metric)
		}
	}
	return s
}
