// Package config is pptpbox's TOML configuration: the schema, its defaults
// (equal to the seed pptpd setup), strict decoding and validation whose
// errors name the file, the line and the key.
//
// Loading is two steps: Parse decodes and fills defaults, then Validate
// checks meaning (and keeps [pptp] parsed, PPTPParams). Callers take
// typed values from the getters (PPTPParams, Ports, NATParams), never the
// strings.
// Load does both. A config that fails either is never applied; the caller
// keeps its last good one.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole pptpbox configuration file.
type Config struct {
	Log   Log    `toml:"log"`
	PPTP  PPTP   `toml:"pptp"`
	Users []User `toml:"user"`
	// Console is [console] (console.go): what the serial console offers.
	Console Console `toml:"console"`
	// Radius is [radius] (radius.go): RADIUS authentication and accounting.
	Radius Radius `toml:"radius"`
	// Metrics is [metrics] (metrics.go): the Prometheus endpoint.
	Metrics Metrics `toml:"metrics"`
	// Time is [time] (time.go): the SNTP client.
	Time Time `toml:"time"`
	// Upgrade is [upgrade] (upgrade.go): the HTTP upload of update files.
	Upgrade Upgrade `toml:"upgrade"`

	// Router sections (WAN, LAN, NAT, firewall) live in router.go.
	Router

	// file is the name used in errors; lines maps dotted keys to lines.
	file  string
	lines lineIndex
	// router: the file has a [wan], [lan] or [nat] section, so boxd
	// configures the ports and the firewall. Without one, boxd is only a
	// PPTP server on a host whose network someone else manages.
	router bool
}

// Log controls the daemon's log/slog output.
type Log struct {
	// Level is debug, info, warn or error. At debug the PPP negotiation is
	// logged the way pppd's "debug" option does.
	Level string `toml:"level"`
	// Syslog is a remote syslog server, "IP:port": boxd sends its log
	// there too (RFC 5424 over UDP). Empty: none.
	Syslog string `toml:"syslog"`
}

// PPTP is the VPN server: the pptpd.conf and /etc/ppp/pptpd-options of the seed setup.
type PPTP struct {
	Enabled  bool     `toml:"enabled"`
	Listen   string   `toml:"listen"`    // pptpd "listen" + port; ":1723"
	LocalIP  string   `toml:"local_ip"`  // pptpd "localip"
	RemoteIP string   `toml:"remote_ip"` // pptpd "remoteip", same syntax
	DNS      []string `toml:"dns"`       // pppd "ms-dns" (at most two)
	Name     string   `toml:"name"`      // pppd "name": our CHAP name
	Auth     []string `toml:"auth"`      // allowed protocols; pppd require-*/refuse-*
	// MPPE is "require-128" (pppd require-mppe-128), "require" (require-mppe:
	// 40, 56 or 128 bits), "allow" (encrypt when the peer agrees) or "off" (nomppe).
	MPPE         string   `toml:"mppe"`
	MPPEStateful bool     `toml:"mppe_stateful"` // pppd mppe-stateful
	ProxyARP     bool     `toml:"proxy_arp"`     // pppd proxyarp
	MTU          int      `toml:"mtu"`           // pppd mtu/mru
	EchoInterval Duration `toml:"echo_interval"` // pppd lcp-echo-interval
	EchoFailure  int      `toml:"echo_failure"`  // pppd lcp-echo-failure
	// SingleSession is what a second login of a user name does: "replace"
	// ends the old session, "deny" refuses the new one, "off" allows both.
	SingleSession string `toml:"single_session"`
	MaxSessions   int    `toml:"max_sessions"` // pptpd "connections"; 0 = pool size
	Tun           string `toml:"tun"`          // TUN device carrying the pool
	// CtrlEchoInterval is the PPTP control-connection keepalive (RFC 2637 §2.4).
	CtrlEchoInterval Duration `toml:"ctrl_echo_interval"`
	AuthRetries      int      `toml:"auth_retries"` // MS-CHAPv2 retries after a failure

	// MPPEPreferStateful asks peers for stateful MPPE first (no pppd
	// equivalent; pppd's mppe-stateful is MPPEStateful). It implies
	// MPPEStateful.
	MPPEPreferStateful bool `toml:"mppe_prefer_stateful"`

	AuthGuard // auth_fail_* keys: password-guessing backoff (authguard.go)
	// Limits against unauthenticated peers (issue 14; docs/config.md).
	// MaxConnections caps control connections (TCP 1723) at once; boxd
	// lowers it to what its descriptor limit leaves room for.
	MaxConnections int `toml:"max_connections"`
	// MaxConnectionsPerSource caps them per source address (0: no cap).
	MaxConnectionsPerSource int `toml:"max_connections_per_source"`
	// MaxCallsPerConnection caps calls on one control connection (0: no cap).
	MaxCallsPerConnection int `toml:"max_calls_per_connection"`
	// MaxUnauthenticatedPerSource caps calls per source address whose link
	// has not come up yet (LCP + authentication; 0: no cap).
	MaxUnauthenticatedPerSource int `toml:"max_unauthenticated_per_source"`
	// StartTimeout: a control connection without Start-Control-Connection-
	// Request by then is closed (pptpd stimeout).
	StartTimeout Duration `toml:"start_timeout"`
	// LoginTimeout: a call whose link is not up (LCP, authentication,
	// IPCP) by then is ended.
	LoginTimeout Duration `toml:"login_timeout"`
	// RateLimit is every session's rate limit unless RADIUS or its [[user]]
	// sets one: Mikrotik-Rate-Limit syntax ("2M/10M"), "" none.
	RateLimit string `toml:"rate_limit"`
	// Dial are the [[pptp.dial]] dial-outs (dial.go): remote PPTP servers
	// the box keeps a tunnel to. They run whether or not enabled is set.
	Dial []Dial `toml:"dial"`

	// params are the keys above parsed by Validate (pptp.go).
	params PPTPParams
}

// User is one line of the seed's chap-secrets: name, secret and address.
type User struct {
	Name     string `toml:"name"`
	Password string `toml:"password"`
	// IP is "*" (or empty) for an address from the pool, or a fixed address.
	IP string `toml:"ip"`
	// RateLimit is this user's rate limit, Mikrotik-Rate-Limit syntax
	// ("512k/2M"); "" takes [pptp] rate_limit.
	RateLimit string `toml:"rate_limit"`
	// Routes are the subnets behind this user (a site-to-site peer's LAN),
	// routed to its session while it is up: "10.10.0.0/24", or Framed-Route
	// text ("10.10.0.0/24 0.0.0.0 1").
	Routes []string `toml:"routes"`
}

// Duration is a time.Duration written as "30s", "5m" in TOML.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. \"30s\", \"5m\")", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration of the seed setup: MS-CHAPv2 only,
// MPPE-128 required, 10.79.97.1 / 10.79.97.10-200, Google DNS.
func Default() *Config {
	c := &Config{
		Log: Log{Level: "info"},
		PPTP: PPTP{
			Enabled:          true,
			Listen:           ":1723",
			LocalIP:          "10.79.97.1",
			RemoteIP:         "10.79.97.10-200",
			DNS:              []string{"8.8.8.8", "8.8.4.4"},
			Name:             "pptpbox",
			Auth:             []string{"mschapv2"},
			MPPE:             "require-128",
			ProxyARP:         true,
			MTU:              1400,
			EchoInterval:     Duration{30 * time.Second},
			EchoFailure:      3,
			SingleSession:    "replace",
			Tun:              "pptp0",
			CtrlEchoInterval: Duration{60 * time.Second},

			MaxConnections:              512,
			MaxConnectionsPerSource:     8,
			MaxCallsPerConnection:       1,
			MaxUnauthenticatedPerSource: 4,
			StartTimeout:                Duration{10 * time.Second},
			LoginTimeout:                Duration{30 * time.Second},
		},
		file: "<default>",
	}
	c.Router = defaultRouter()
	c.router = true
	c.Radius = defaultRadius()
	c.Time = defaultTime()
	c.PPTP.AuthGuard = defaultAuthGuard()
	c.validatePPTP() // the defaults are valid: this parses them into PPTPParams
	return c
}

// Error is a config error located in its file.
type Error struct {
	File string
	Line int // 0 when unknown
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Load reads, decodes and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes data (named file in errors) over the defaults. Unknown keys
// are errors: a typo must not silently fall back to a default.
func Parse(file string, data []byte) (*Config, error) {
	c := Default()
	c.file = file
	c.lines = indexLines(data)
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(c)
	if err != nil {
		var pe toml.ParseError
		var ppe *toml.ParseError
		if errors.As(err, &ppe) {
			pe = *ppe
		}
		if ppe != nil || errors.As(err, &pe) {
			msg := pe.Message
			if pe.Usage != "" {
				msg += " (" + strings.TrimSpace(pe.Usage) + ")"
			}
			return nil, &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}
		}
		// Type mismatches come as "toml: line N (last key "k"): msg".
		if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			return nil, &Error{File: file, Line: n, Key: m[2], Msg: m[3]}
		}
		return nil, &Error{File: file, Msg: err.Error()}
	}
	c.router = md.IsDefined("wan") || md.IsDefined("lan") || md.IsDefined("nat")
	c.fillRadius(md.IsDefined("radius"))
	if !md.IsDefined("time", "enabled") {
		c.Time.Enabled = c.router // on when boxd runs the WAN
	}
	var errs []error
	for _, k := range md.Undecoded() {
		key := k.String()
		errs = append(errs, &Error{File: file, Line: c.lines.lineOfArrayKey(key), Key: key, Msg: "unknown key"})
	}
	return c, errors.Join(errs...)
}

var typeErrRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// RouterEnabled reports whether boxd should configure the WAN/LAN ports and
// the nftables table: true when the file has a [wan], [lan] or [nat]
// section, or for the built-in default (the firmware's fresh box).
func (c *Config) RouterEnabled() bool { return c.router }

// File is the path the config was loaded from.
func (c *Config) File() string { return c.file }

// errorf builds an error for a dotted key ("pptp.remote_ip", "user.2.ip").
func (c *Config) errorf(key, format string, args ...any) error {
	return &Error{File: c.file, Line: c.lines.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// FixedAddr is the user's fixed address, or the zero Addr for "from the pool".
func (u *User) FixedAddr() netip.Addr {
	if u.IP == "" || u.IP == "*" {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(u.IP)
	return a
}
