package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// Validate checks the meaning of every key and returns all problems at once,
// each naming file, line and key.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add(c.errorf("log.level", "must be debug, info, warn or error, not %q", c.Log.Level))
	}
	errs = append(errs, c.validatePPTP()...)
	errs = append(errs, c.validateUsers()...)
	errs = append(errs, c.validateRouter()...)
	errs = append(errs, c.validateRadius()...)
	errs = append(errs, c.validateAuthGuard()...)
	errs = append(errs, c.validateMetrics()...)
	errs = append(errs, c.validateTime()...)
	errs = append(errs, c.validateSyslog()...)
	errs = append(errs, c.validateUpgrade()...)
	errs = append(errs, c.validateConsole()...)
	errs = append(errs, c.validateDial()...)
	return errors.Join(errs...)
}

// validatePPTP checks [pptp] and keeps what it parsed (PPTPParams).
func (c *Config) validatePPTP() []error {
	p := &c.PPTP
	var prm PPTPParams
	errs := c.validatePPTPAddrs(&prm)
	errs = append(errs, c.validatePPTPAuth(&prm)...)
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("pptp."+key, format, args...))
	}
	if p.MTU < 576 || p.MTU > 1500 {
		bad("mtu", "must be between 576 and 1500, got %d", p.MTU)
	}
	if p.EchoInterval.Duration < 0 {
		bad("echo_interval", "must not be negative")
	}
	if p.EchoFailure < 0 || p.EchoFailure > 100 {
		bad("echo_failure", "must be between 0 and 100, got %d", p.EchoFailure)
	}
	if p.CtrlEchoInterval.Duration < 0 {
		bad("ctrl_echo_interval", "must not be negative")
	}
	single, err := aaa.ParseSingleSession(p.SingleSession)
	if err != nil {
		bad("single_session", "must be replace, deny or off, not %q", p.SingleSession)
	}
	prm.SingleSession = single
	if p.MaxSessions < 0 || p.MaxSessions > 65535 {
		bad("max_sessions", "must be between 0 and 65535, got %d", p.MaxSessions)
	}
	errs = append(errs, c.validatePPTPLimits()...)
	if p.Tun == "" || len(p.Tun) > 15 || strings.ContainsAny(p.Tun, "/ ") {
		bad("tun", "not a valid interface name: %q", p.Tun)
	}
	if p.Name == "" || len(p.Name) > 64 {
		bad("name", "must be 1 to 64 characters")
	}
	if p.AuthRetries < 0 || p.AuthRetries > 10 {
		bad("auth_retries", "must be between 0 and 10, got %d", p.AuthRetries)
	}
	if p.RateLimit != "" {
		l, err := ratelimit.Parse(p.RateLimit)
		if err != nil {
			bad("rate_limit", "%s", strings.TrimPrefix(err.Error(), "ratelimit: "))
		}
		prm.RateLimit = l
	}
	p.setPlainParams(&prm)
	p.params = prm
	return errs
}

// validatePPTPAddrs checks listen, local_ip, remote_ip and dns, and puts
// the addresses into prm.
func (c *Config) validatePPTPAddrs(prm *PPTPParams) []error {
	p := &c.PPTP
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("pptp."+key, format, args...))
	}
	host, port, err := net.SplitHostPort(p.Listen)
	if err != nil {
		bad("listen", "want host:port or :port, got %q", p.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		bad("listen", "bad port %q", port)
	} else {
		prm.ListenPort = n
	}
	prm.Listen, prm.ListenIP = p.Listen, netip.IPv4Unspecified()
	if a, err := netip.ParseAddr(host); err == nil {
		prm.ListenIP = a
	}
	local, err := netip.ParseAddr(p.LocalIP)
	if err != nil || !local.Is4() {
		bad("local_ip", "not an IPv4 address: %q", p.LocalIP)
	}
	if err == nil {
		prm.LocalIP = local
	}
	ranges, err := ippool.ParseRanges(p.RemoteIP)
	if err != nil {
		bad("remote_ip", "%v", err)
	}
	for _, r := range ranges {
		if local.IsValid() && r.Contains(local) {
			bad("local_ip", "%s is inside the remote_ip range %s", local, r)
		}
	}
	prm.Pool = ranges
	if len(p.DNS) > 2 {
		bad("dns", "at most two servers (IPCP carries a primary and a secondary, RFC 1877), got %d", len(p.DNS))
	}
	n := 0
	for _, s := range p.DNS {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			bad("dns", "not an IPv4 address: %q", s)
		} else if n < len(prm.DNS) {
			prm.DNS[n] = a
			n++
		}
	}
	return errs
}

// validatePPTPAuth checks auth and mppe, and puts the protocols and the
// MPPE policy into prm.
func (c *Config) validatePPTPAuth(prm *PPTPParams) []error {
	p := &c.PPTP
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("pptp."+key, format, args...))
	}
	if len(p.Auth) == 0 {
		bad("auth", "at least one of pap, chap, mschap, mschapv2")
	}
	seen := map[ppp.AuthProto]bool{}
	for _, s := range p.Auth {
		a, ok := ppp.ParseAuthProto(s)
		if !ok {
			bad("auth", "unknown protocol %q (want pap, chap, mschap, mschapv2)", s)
		} else if seen[a] {
			bad("auth", "%q listed twice", s)
		} else {
			prm.Auth = append(prm.Auth, a)
		}
		seen[a] = true
	}
	pol, ok := ppp.ParseMPPEPolicy(p.MPPE, p.MPPEStateful, p.MPPEPreferStateful)
	if !ok {
		bad("mppe", "must be require-128, require, allow or off, not %q", p.MPPE)
		return errs
	}
	if (pol.Required || pol.Allowed) && len(seen) > 0 && !seen[ppp.AuthMSCHAPv1] && !seen[ppp.AuthMSCHAPv2] {
		bad("mppe", "MPPE keys come from MS-CHAP; with auth = %v use mppe = \"off\"", p.Auth)
	}
	if pol.Required && (seen[ppp.AuthPAP] || seen[ppp.AuthCHAPMD5]) {
		bad("auth", "mppe = %q needs MS-CHAP keys; pap and chap cannot give them", p.MPPE)
	}
	prm.MPPE = pol
	return errs
}

func (c *Config) validateUsers() []error {
	var errs []error
	names := map[string]int{}
	ips := map[netip.Addr]int{}
	for i, u := range c.Users {
		key := func(k string) string { return fmt.Sprintf("user.%d.%s", i, k) }
		if u.Name == "" {
			errs = append(errs, c.errorf(key("name"), "missing"))
		} else if j, dup := names[u.Name]; dup {
			errs = append(errs, c.errorf(key("name"), "user %q already defined (user %d)", u.Name, j))
		}
		names[u.Name] = i
		if u.Password == "" {
			errs = append(errs, c.errorf(key("password"), "missing"))
		}
		if u.RateLimit != "" {
			if _, err := ratelimit.Parse(u.RateLimit); err != nil {
				errs = append(errs, c.errorf(key("rate_limit"), "%s", strings.TrimPrefix(err.Error(), "ratelimit: ")))
			}
		}
		for j, r := range u.Routes {
			if _, err := ippool.ParseRoute(r); err != nil {
				errs = append(errs, c.errorf(key("routes"), "route %d: %v", j, err))
			}
		}
		if u.IP != "" && u.IP != "*" {
			a, err := netip.ParseAddr(u.IP)
			if err != nil || !a.Is4() {
				errs = append(errs, c.errorf(key("ip"), "want \"*\" or an IPv4 address, got %q", u.IP))
				continue
			}
			if j, dup := ips[a]; dup {
				errs = append(errs, c.errorf(key("ip"), "%s is already the address of user %d", a, j))
			}
			ips[a] = i
		}
	}
	return errs
}
