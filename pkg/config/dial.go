package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
)

// Dial is one [[pptp.dial]]: a PPTP server the box dials (site-to-site
// dial-out, MikroTik's pptp-client). MS-CHAPv2 with 128-bit MPPE is always
// required.
type Dial struct {
	// Name names the dial-out; its TUN device is "dial-<name>".
	Name string `toml:"name"`
	// Server is the remote PPTP server, host[:port] (port 1723).
	Server   string `toml:"server"`
	User     string `toml:"user"`
	Password string `toml:"password"`
	// Routes are the remote subnets routed through the tunnel while it is up.
	Routes []string `toml:"routes"`
	// Masquerade NATs what leaves through the tunnel to the box's tunnel
	// address (needs the router sections: the nftables table).
	Masquerade bool `toml:"masquerade"`
}

// DialParams is a [[pptp.dial]] with its values parsed (valid after Validate).
type DialParams struct {
	Name       string
	Iface      string // "dial-<name>"
	Server     string // host:port
	User       string
	Password   string
	Routes     []netip.Prefix
	Masquerade bool
}

// DialIfacePrefix starts every dial-out's TUN device name.
const DialIfacePrefix = "dial-"

// dialName fits "dial-" + name into an interface name (15 bytes).
var dialName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,9}$`)

// DialServerAddr is s with the default port when it has none.
func DialServerAddr(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(s, "1723")
}

// Dials are the [[pptp.dial]] entries, parsed (valid after Validate).
func (c *Config) Dials() []DialParams {
	var out []DialParams
	for _, d := range c.PPTP.Dial {
		p := DialParams{Name: d.Name, Iface: DialIfacePrefix + d.Name, Server: DialServerAddr(d.Server),
			User: d.User, Password: d.Password, Masquerade: d.Masquerade}
		for _, r := range d.Routes {
			if pr, err := netip.ParsePrefix(r); err == nil {
				p.Routes = append(p.Routes, pr.Masked())
			}
		}
		out = append(out, p)
	}
	return out
}

func (c *Config) validateDial() []error {
	var errs []error
	names := map[string]bool{}
	for i, d := range c.PPTP.Dial {
		bad := func(key, format string, args ...any) {
			errs = append(errs, c.errorf(fmt.Sprintf("pptp.dial.%d.%s", i, key), format, args...))
		}
		switch {
		case !dialName.MatchString(d.Name):
			bad("name", "must be 1 to 10 of a-z, 0-9, _ (starting with a letter or digit; the device is dial-<name>), not %q", d.Name)
		case names[d.Name]:
			bad("name", "%q is used by another [[pptp.dial]]", d.Name)
		}
		names[d.Name] = true
		host, port, err := net.SplitHostPort(DialServerAddr(d.Server))
		if err != nil || host == "" {
			bad("server", "must be host or host:port, not %q", d.Server)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad("server", "bad port %q", port)
		}
		if d.User == "" {
			bad("user", "must not be empty")
		}
		if d.Password == "" {
			bad("password", "must not be empty (MS-CHAPv2 is required)")
		}
		if len(d.Routes) == 0 {
			bad("routes", "list at least one remote subnet, e.g. [\"10.20.0.0/16\"]")
		}
		for _, r := range d.Routes {
			p, err := netip.ParsePrefix(r)
			if err != nil || !p.Addr().Is4() {
				bad("routes", "%q is not an IPv4 prefix (\"10.20.0.0/16\")", r)
			} else if p.Bits() == 0 {
				bad("routes", "%q would route everything, the server's address too", r)
			}
		}
		if d.Masquerade && !c.router {
			bad("masquerade", "needs the router sections ([wan]): masquerading is a rule of the box's nftables table")
		}
	}
	return errs
}
