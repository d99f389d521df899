package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
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
	return errors.Join(errs...)
}

func (c *Config) validatePPTP() []error {
	p := &c.PPTP
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("pptp."+key, format, args...))
	}
	if _, port, err := net.SplitHostPort(p.Listen); err != nil {
		bad("listen", "want host:port or :port, got %q", p.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		bad("listen", "bad port %q", port)
	}
	local, err := netip.ParseAddr(p.LocalIP)
	if err != nil || !local.Is4() {
		bad("local_ip", "not an IPv4 address: %q", p.LocalIP)
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
	if len(p.DNS) > 2 {
		bad("dns", "at most two servers (IPCP carries a primary and a secondary, RFC 1877), got %d", len(p.DNS))
	}
	for _, s := range p.DNS {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			bad("dns", "not an IPv4 address: %q", s)
		}
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
		}
		seen[a] = true
	}
	switch p.MPPE {
	case "require-128", "require", "allow", "off":
		if p.MPPE != "off" && len(seen) > 0 && !seen[ppp.AuthMSCHAPv1] && !seen[ppp.AuthMSCHAPv2] {
			bad("mppe", "MPPE keys come from MS-CHAP; with auth = %v use mppe = \"off\"", p.Auth)
		}
		if strings.HasPrefix(p.MPPE, "require") && (seen[ppp.AuthPAP] || seen[ppp.AuthCHAPMD5]) {
			bad("auth", "mppe = %q needs MS-CHAP keys; pap and chap cannot give them", p.MPPE)
		}
	default:
		bad("mppe", "must be require-128, require, allow or off, not %q", p.MPPE)
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
	switch p.SingleSession {
	case "replace", "deny", "off":
	default:
		bad("single_session", "must be replace, deny or off, not %q", p.SingleSession)
	}
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
