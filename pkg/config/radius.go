package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Radius is [radius]: RADIUS authentication and accounting, what the seed
// set up with pppd's radius plugin and /etc/radiusclient (radiusclient.conf,
// servers, dictionary.microsoft). With the section present, logins are
// checked by the servers, not by [[user]].
type Radius struct {
	// Servers are asked in order (radiusclient.conf authserver/acctserver,
	// secrets from its servers file); a server that does not answer is
	// skipped for dead_time while another one does.
	Servers []RadiusServer `toml:"server"`
	// NASIdentifier and NASIP name this box to the servers
	// (radiusclient.conf has no key: the plugin sends the host name and
	// address; pppd's radius plugin option "nas-identifier" /"nas-ip-address"
	// in newer versions).
	NASIdentifier string `toml:"nas_identifier"`
	NASIP         string `toml:"nas_ip"`
	// SourceIP is the local address the requests to the servers are sent
	// from (the server knows its clients by it); empty: the kernel picks
	// the outgoing interface's.
	SourceIP string `toml:"source_ip"`
	// Timeout is the wait for one reply and Retries the resends to one
	// server (radius_timeout, radius_retries).
	Timeout  Duration `toml:"timeout"`
	Retries  int      `toml:"retries"`
	DeadTime Duration `toml:"dead_time"`
	// Accounting sends Start/Interim-Update/Stop and Accounting-On/Off.
	Accounting bool `toml:"accounting"`
	// InterimInterval is the Interim-Update period when the Access-Accept
	// has no Acct-Interim-Interval ("0s": none).
	InterimInterval Duration `toml:"interim_interval"`
	// FallbackLocal checks [[user]] when no RADIUS server answered at all
	// (never after a server's reject). radiusclient.conf's
	// "auth_order radius,local" is the nearest.
	FallbackLocal bool `toml:"fallback_local"`
	// DAEListen is where Disconnect-Requests (RFC 5176) from the servers
	// are taken, "host:port" (port 3799); empty: not at all.
	DAEListen string `toml:"dae_listen"`
	// RequireMessageAuthenticator drops Access-Accept/Reject/Challenges
	// without a valid Message-Authenticator (Blast-RADIUS, CVE-2024-3596;
	// FreeRADIUS 3.2.5+ client require_message_authenticator).
	RequireMessageAuthenticator bool `toml:"require_message_authenticator"`
	// DAEEventWindow is how far a Disconnect-Request's Event-Timestamp
	// may be from the box's clock (RFC 5176 §6.3, RFC 3576 §5.4: 300 s);
	// "0s" checks none. DAERequireEventTimestamp drops requests without
	// one.
	DAEEventWindow           Duration `toml:"dae_event_window"`
	DAERequireEventTimestamp bool     `toml:"dae_require_event_timestamp"`

	// enabled: the file has a [radius] section.
	enabled bool
}

// RadiusServer is one [[radius.server]].
type RadiusServer struct {
	// Address is host:port of authentication; the port defaults to 1812.
	Address string `toml:"address"`
	Secret  string `toml:"secret"`
	// AcctPort is the accounting port on the same host (default 1813);
	// 0 sends no accounting to this server.
	AcctPort int `toml:"acct_port"`
}

func defaultRadius() Radius {
	return Radius{
		Timeout:         Duration{3 * time.Second},
		Retries:         2,
		DeadTime:        Duration{30 * time.Second},
		Accounting:      true,
		InterimInterval: Duration{5 * time.Minute},

		RequireMessageAuthenticator: true,
		DAEEventWindow:              Duration{300 * time.Second},
	}
}

// RadiusEnabled reports whether the file has a [radius] section: then
// logins go to RADIUS.
func (c *Config) RadiusEnabled() bool { return c.Radius.enabled }

// AuthAddr is the authentication address with the default port filled in
// (valid after Validate).
func (s *RadiusServer) AuthAddr() string {
	if _, _, err := net.SplitHostPort(s.Address); err == nil {
		return s.Address
	}
	return net.JoinHostPort(s.Address, "1812")
}

// AcctAddr is the accounting address, "" when acct_port is 0.
func (s *RadiusServer) AcctAddr() string {
	if s.AcctPort == 0 {
		return ""
	}
	host, _, err := net.SplitHostPort(s.AuthAddr())
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(s.AcctPort))
}

// NASAddr is nas_ip parsed; zero when unset.
func (r *Radius) NASAddr() netip.Addr { a, _ := netip.ParseAddr(r.NASIP); return a }

// SourceAddr is source_ip parsed; zero when unset.
func (r *Radius) SourceAddr() netip.Addr { a, _ := netip.ParseAddr(r.SourceIP); return a }

// DAEPort is dae_listen's port, 0 when unset (valid after Validate).
func (r *Radius) DAEPort() uint16 {
	_, port, err := net.SplitHostPort(r.DAEListen)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return uint16(n)
}

// DAESources are the servers' IPv4 addresses, the only sources the WAN
// firewall lets reach dae_listen (valid after Validate).
func (r *Radius) DAESources() []netip.Addr {
	var out []netip.Addr
	for _, s := range r.Servers {
		host, _, _ := net.SplitHostPort(s.AuthAddr())
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// fillRadius completes what decoding cannot: the per-server default of
// acct_port (decoding makes each [[radius.server]] from zero values, so a
// written 0 is told from an absent key by the line index).
func (c *Config) fillRadius(defined bool) {
	c.Radius.enabled = defined
	for i := range c.Radius.Servers {
		if _, written := c.lines["radius.server."+strconv.Itoa(i)+".acct_port"]; !written {
			c.Radius.Servers[i].AcctPort = 1813
		}
	}
}

func (c *Config) validateRadius() []error {
	r := &c.Radius
	if !r.enabled {
		return nil
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("radius."+key, format, args...))
	}
	if len(r.Servers) == 0 {
		bad("server", "at least one [[radius.server]] is needed")
	}
	for i, s := range r.Servers {
		k := fmt.Sprintf("server.%d.", i)
		host, port, err := net.SplitHostPort(s.AuthAddr())
		if err != nil || host == "" {
			bad(k+"address", "must be host or host:port, not %q", s.Address)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad(k+"address", "bad port %q", port)
		}
		if s.Secret == "" {
			bad(k+"secret", "must not be empty (the radiusclient servers file's secret)")
		}
		if s.AcctPort < 0 || s.AcctPort > 65535 {
			bad(k+"acct_port", "must be 0 (no accounting) to 65535, not %d", s.AcctPort)
		}
	}
	if r.NASIP != "" {
		if a, err := netip.ParseAddr(r.NASIP); err != nil || a.Zone() != "" || a.Is4In6() {
			bad("nas_ip", "must be an IPv4 or IPv6 address, not %q", r.NASIP)
		}
	}
	if r.SourceIP != "" {
		if a, err := netip.ParseAddr(r.SourceIP); err != nil || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast() {
			bad("source_ip", "must be an IPv4 or IPv6 address of this box, not %q", r.SourceIP)
		}
	}
	if len(r.NASIdentifier) > 253 {
		bad("nas_identifier", "longer than a RADIUS attribute (253 octets)")
	}
	if t := r.Timeout.Duration; t < 100*time.Millisecond || t > time.Minute {
		bad("timeout", "must be 100ms to 1m, not %v", t)
	}
	if r.Retries < 0 || r.Retries > 10 {
		bad("retries", "must be 0 to 10, not %d", r.Retries)
	}
	if t := r.DeadTime.Duration; t < 0 || t > time.Hour {
		bad("dead_time", "must be 0 to 1h, not %v", t)
	}
	if r.DAEListen != "" {
		if _, port, err := net.SplitHostPort(r.DAEListen); err != nil {
			bad("dae_listen", "must be [host]:port, not %q", r.DAEListen)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad("dae_listen", "bad port %q", port)
		}
		// The WAN firewall lets Disconnect/CoA-Requests in by source
		// address: a name would need resolving at every rule change.
		for i, s := range r.Servers {
			host, _, err := net.SplitHostPort(s.AuthAddr())
			if a, perr := netip.ParseAddr(host); err == nil && host != "" && (perr != nil || !a.Is4()) {
				bad(fmt.Sprintf("server.%d.address", i), "with dae_listen it must be an IPv4 address (the WAN firewall lets dynamic authorization in from the servers' addresses only), not %q", s.Address)
			}
		}
	}
	if t := r.DAEEventWindow.Duration; t != 0 && (t < time.Second || t > 24*time.Hour) {
		bad("dae_event_window", "must be 0 (no check) or 1s to 24h, not %v", t)
	}
	if t := r.InterimInterval.Duration; t != 0 && t < time.Second {
		bad("interim_interval", "must be 0 (none) or at least 1s, not %v", t)
	}
	return errs
}
