package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const radiusTOML = `
[radius]
nas_identifier = "office-box"
nas_ip = "192.0.2.1"
timeout = "2s"
retries = 3
interim_interval = "10m"
fallback_local = true
dae_listen = ":3799"

[[radius.server]]
address = "192.0.2.10"
secret = "testing123"

[[radius.server]]
address = "192.0.2.11:11812"
secret = "other"
acct_port = 0
`

func TestRadiusSetup(t *testing.T) {
	c, err := parseRouter(t, radiusTOML)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Radius
	if !c.RadiusEnabled() || r.NASIdentifier != "office-box" || r.NASAddr().String() != "192.0.2.1" ||
		r.Timeout.Duration != 2*time.Second || r.Retries != 3 || r.InterimInterval.Duration != 10*time.Minute ||
		!r.FallbackLocal || !r.Accounting || r.DeadTime.Duration != 30*time.Second || r.DAEListen != ":3799" {
		t.Errorf("radius %+v", r)
	}
	// Hardening defaults (issue 14): Access replies must be signed,
	// Event-Timestamps within 300 s, none required.
	if !r.RequireMessageAuthenticator || r.DAEEventWindow.Duration != 300*time.Second || r.DAERequireEventTimestamp {
		t.Errorf("radius hardening defaults %+v", r)
	}
	for i, want := range [][2]string{{"192.0.2.10:1812", "192.0.2.10:1813"}, {"192.0.2.11:11812", ""}} {
		s := r.Servers[i]
		if s.AuthAddr() != want[0] || s.AcctAddr() != want[1] {
			t.Errorf("server %d: %s %s, want %v", i, s.AuthAddr(), s.AcctAddr(), want)
		}
	}
	// dae_listen opens UDP 3799 on the WAN to the servers' addresses.
	if p := c.NATParams(); p.DAEPort != 3799 || fmt.Sprint(p.DAESources) != "[192.0.2.10 192.0.2.11]" {
		t.Errorf("nat dae port %d sources %v", p.DAEPort, p.DAESources)
	}
	if r.SourceAddr().IsValid() {
		t.Errorf("source_ip unset but %v", r.SourceAddr())
	}
	c2, err := parseRouter(t, strings.Replace(radiusTOML, `dae_listen = ":3799"`, `source_ip = "192.0.2.1"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	if p := c2.NATParams(); p.DAEPort != 0 || p.DAESources != nil || c2.Radius.SourceAddr().String() != "192.0.2.1" {
		t.Errorf("without dae_listen: nat dae port %d sources %v, source %v", p.DAEPort, p.DAESources, c2.Radius.SourceAddr())
	}
	// No section: RADIUS off.
	c, err = parseRouter(t, "[pptp]\nlocal_ip = \"10.0.0.1\"\n")
	if err != nil || c.RadiusEnabled() {
		t.Errorf("no [radius]: enabled=%v err=%v", c != nil && c.RadiusEnabled(), err)
	}
}

func TestRadiusErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[radius]\n", "x.toml:1: radius.server: at least one [[radius.server]] is needed"},
		{"[radius]\n[[radius.server]]\naddress = \"192.0.2.1\"\n", "x.toml:2: radius.server.0.secret: must not be empty"},
		{"[radius]\n[[radius.server]]\naddress = \"192.0.2.1:99999\"\nsecret = \"s\"\n", "x.toml:3: radius.server.0.address: bad port \"99999\""},
		{"[radius]\n[[radius.server]]\naddress = \":1812\"\nsecret = \"s\"\n", "x.toml:3: radius.server.0.address: must be host or host:port"},
		{"[radius]\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\nacct_port = 70000\n", "x.toml:5: radius.server.0.acct_port: must be 0"},
		{"[radius]\ntimeout = \"1ms\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.timeout: must be 100ms to 1m"},
		{"[radius]\nretries = 11\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.retries: must be 0 to 10"},
		{"[radius]\nnas_ip = \"fe80::1%eth0\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.nas_ip: must be an IPv4 or IPv6 address"},
		{"[radius]\ninterim_interval = \"10ms\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.interim_interval: must be 0 (none) or at least 1s"},
		{"[radius]\nauthserver = \"h\"\n", "x.toml:2: radius.authserver: unknown key"},
		{"[radius]\ndae_event_window = \"500ms\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.dae_event_window: must be 0 (no check) or 1s to 24h"},
		{"[radius]\nrequire_message_authenticator = \"yes\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.require_message_authenticator"},
		{"[radius]\nsource_ip = \"0.0.0.0\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.source_ip: must be an IPv4 or IPv6 address of this box"},
		{"[radius]\ndae_listen = \":3799\"\n[[radius.server]]\naddress = \"radius.example\"\nsecret = \"s\"\n", "x.toml:4: radius.server.0.address: with dae_listen it must be an IPv4 address"},
		{"[radius]\ndae_listen = \"3799\"\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n", "x.toml:2: radius.dae_listen: must be [host]:port"},
	} {
		_, err := parseRouter(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.toml, err, tc.want)
		}
	}
}

// TestRadiusSeedExample: docs/examples/seed.toml's [radius] is the seed's
// radiusclient.conf.
func TestRadiusSeedExample(t *testing.T) {
	c, err := Load("../../docs/examples/seed.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Radius
	if !c.RadiusEnabled() || len(r.Servers) != 1 || r.Servers[0].AuthAddr() != "radius.toughstruct.net:1812" ||
		r.Servers[0].AcctAddr() != "radius.toughstruct.net:1813" || r.Servers[0].Secret != "testing123" ||
		r.Timeout.Duration != 10*time.Second || r.Retries != 3 || !r.FallbackLocal {
		t.Errorf("radius %+v", r)
	}
}

// TestRadiusHardeningKeys: the issue 14 switches read as written.
func TestRadiusHardeningKeys(t *testing.T) {
	c, err := parseRouter(t, "[radius]\nrequire_message_authenticator = false\ndae_event_window = \"0s\"\n"+
		"dae_require_event_timestamp = true\n[[radius.server]]\naddress = \"h\"\nsecret = \"s\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Radius; r.RequireMessageAuthenticator || r.DAEEventWindow.Duration != 0 || !r.DAERequireEventTimestamp {
		t.Errorf("radius %+v", r)
	}
}
