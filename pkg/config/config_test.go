package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSeedExample(t *testing.T) {
	c, err := Load("../../docs/examples/seed.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.PPTP.RemoteIP != "10.79.97.10-200" || c.PPTP.EchoInterval.Duration != 30*time.Second {
		t.Fatalf("pptp = %+v", c.PPTP)
	}
	if len(c.Users) != 2 || c.Users[1].FixedAddr().String() != "10.79.97.5" || c.Users[0].FixedAddr().IsValid() {
		t.Fatalf("users = %+v", c.Users)
	}
	if got := c.PPTP.DNSAddrs(); len(got) != 2 || got[1].String() != "8.8.4.4" {
		t.Fatalf("dns = %v", got)
	}
}

func TestErrorsNameFileLineKey(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"unknown key", "[pptp]\nlocal_ip = \"10.0.0.1\"\nremoteip = \"10.0.0.2-9\"\n", "x.toml:3: pptp.remoteip: unknown key"},
		{"unknown table", "[radiusx]\nfoo = 1\n", "x.toml:2: radiusx.foo: unknown key"},
		{"bad range", "[pptp]\n\nremote_ip = \"10.79.97.10-300\"\n", "x.toml:3: pptp.remote_ip: \"10.79.97.10-300\": range end is not an octet"},
		{"pool holds local", "[pptp]\nlocal_ip = \"10.79.97.20\"\n", "x.toml:2: pptp.local_ip: 10.79.97.20 is inside the remote_ip range 10.79.97.10-10.79.97.200"},
		{"bad duration", "[pptp]\necho_interval = \"soon\"\n", "x.toml:2"},
		{"type error", "[pptp]\nmtu = \"big\"\n", "x.toml:2"},
		{"syntax", "[pptp\n", "x.toml:2"},
		{"bad mppe", "[pptp]\nmppe = \"yes\"\n", "x.toml:2: pptp.mppe: must be"},
		{"pap with mppe", "[pptp]\nauth = [\"pap\", \"mschapv2\"]\n", "x.toml:2: pptp.auth: mppe = \"require-128\" needs MS-CHAP keys"},
		{"unknown auth", "[pptp]\nauth = [\"eap\"]\n", "x.toml:2: pptp.auth: unknown protocol \"eap\""},
		{"three dns", "[pptp]\ndns = [\"1.1.1.1\",\"1.0.0.1\",\"9.9.9.9\"]\n", "x.toml:2: pptp.dns: at most two"},
		{"dup user", "[[user]]\nname = \"a\"\npassword = \"x\"\n[[user]]\nname = \"a\"\npassword = \"y\"\n", "x.toml:5: user.1.name: user \"a\" already defined"},
		{"user ip", "[[user]]\nname = \"a\"\npassword = \"x\"\n\n[[user]]\nname = \"b\"\npassword = \"y\"\nip = \"10.1\"\n", "x.toml:8: user.1.ip: want \"*\" or an IPv4 address"},
		{"missing password", "[[user]]\nname = \"a\"\n", "x.toml:1: user.0.password: missing"},
		{"bad rate_limit", "[pptp]\nrate_limit = \"2 Mbit\"\n", "x.toml:2: pptp.rate_limit: field 2 \"Mbit\": want a number"},
		{"bad user rate_limit", "[[user]]\nname = \"a\"\npassword = \"b\"\nrate_limit = \"1M/2M 3M 4M 10 9\"\n", "x.toml:4: user.0.rate_limit: priority \"9\": want 1 to 8"},
		{"bad user routes", "[[user]]\nname = \"a\"\npassword = \"b\"\nroutes = [\"10.10.0.0/24\", \"10.10.1.1/24\"]\n", "x.toml:4: user.0.routes: route 1: route \"10.10.1.1/24\": host bits set (the subnet is 10.10.1.0/24)"},
		{"user unknown key", "[[user]]\nname = \"a\"\npassword = \"b\"\nsecret = \"c\"\n", "x.toml:4: user.secret: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.toml")
			if err := os.WriteFile(p, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.ReplaceAll(err.Error(), p, "x.toml")
			if !strings.Contains(got, tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", got, tc.want)
			}
		})
	}
}

// TestRateLimitKeys: [pptp] rate_limit is parsed into PPTPParams,
// [[user]] rate_limit kept as written (aaa.LocalUser passes it on).
func TestRateLimitKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.toml")
	toml := "[pptp]\nrate_limit = \"1M/4M\"\n[[user]]\nname = \"a\"\npassword = \"b\"\nrate_limit = \"512k/2M\"\n"
	if err := os.WriteFile(p, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if l := c.PPTPParams().RateLimit; l.Rate.Rx != 1e6 || l.Rate.Tx != 4e6 {
		t.Errorf("pptp rate_limit = %+v", l)
	}
	if c.Users[0].RateLimit != "512k/2M" {
		t.Errorf("user rate_limit = %q", c.Users[0].RateLimit)
	}
	if !Default().PPTPParams().RateLimit.IsZero() {
		t.Error("the default config limits sessions")
	}
}

func TestRouterEnabled(t *testing.T) {
	c, err := Parse("x.toml", []byte("[pptp]\nmtu = 1400\n"))
	if err != nil || c.RouterEnabled() {
		t.Fatalf("pptp-only file: router %v, err %v", c.RouterEnabled(), err)
	}
	c, err = Parse("x.toml", []byte("[wan]\ninterface = \"eth0\"\n"))
	if err != nil || !c.RouterEnabled() {
		t.Fatalf("file with [wan]: router %v, err %v", c.RouterEnabled(), err)
	}
	if !Default().RouterEnabled() {
		t.Fatal("the default config is a router")
	}
}
