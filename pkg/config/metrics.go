package config

import (
	"net"
	"net/netip"
	"strconv"
)

// Metrics is the [metrics] section: boxd's Prometheus endpoint (/metrics).
// Off unless listen is set. The endpoint has no authentication, so on a
// box with router sections it may listen only on the LAN side or on
// loopback, never on the WAN port or on every address.
type Metrics struct {
	// Listen is "host:port" with host an IP address: "192.168.1.1:9100".
	// Empty: no endpoint.
	Listen string `toml:"listen"`
}

// MetricsListen is the endpoint's address, and false when [metrics] is
// off. Valid after Validate.
func (c *Config) MetricsListen() (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(c.Metrics.Listen)
	return ap, err == nil
}

// validateMetrics checks [metrics] listen: an IP address and a port, and,
// when boxd runs the ports (router sections), a loopback address or the
// LAN port's own address.
func (c *Config) validateMetrics() []error {
	return c.validateLANListen("metrics.listen", c.Metrics.Listen, "the endpoint has no password")
}

// validateLANListen checks a LAN-side endpoint's "address:port" (key names it in errors;
// onWAN says why the WAN address is refused).
func (c *Config) validateLANListen(key, l, onWAN string) []error {
	if l == "" {
		return nil
	}
	bad := func(format string, args ...any) []error {
		return []error{c.errorf(key, format, args...)}
	}
	host, port, err := net.SplitHostPort(l)
	if err != nil {
		return bad("want address:port (\"192.168.1.1:9100\"), got %q", l)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return bad("bad port %q", port)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return bad("want an IP address (the LAN address or 127.0.0.1), got %q", host)
	}
	a = a.Unmap()
	if !c.router || a.IsLoopback() {
		// Without router sections boxd does not know which side of the
		// host is which: the address is the operator's choice.
		return nil
	}
	lan := netip.Addr{}
	if c.LAN.Enabled {
		lan = c.LAN.LANPrefix().Addr()
	}
	switch {
	case a.IsUnspecified():
		return bad("%s listens on every address, the WAN port's too: use the LAN address (%s) or 127.0.0.1", host, lanOrNone(lan))
	case c.WAN.Mode == "static" && a == c.WAN.WANPrefix().Addr():
		return bad("%s is the WAN port's address: %s, use the LAN address (%s) or 127.0.0.1", host, onWAN, lanOrNone(lan))
	case a != lan:
		return bad("%s is not the LAN address (%s) nor loopback: the endpoint is LAN side only", host, lanOrNone(lan))
	}
	return nil
}

func lanOrNone(lan netip.Addr) string {
	if !lan.IsValid() {
		return "[lan] is off"
	}
	return lan.String()
}
