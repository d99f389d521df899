package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestDialSetup(t *testing.T) {
	c, err := parseRouter(t, `
[pptp]
enabled = false

[[pptp.dial]]
name = "hq"
server = "198.51.100.7"
user = "branch1"
password = "s3cret"
routes = ["10.20.0.0/16", "10.30.1.7/24"]

[[pptp.dial]]
name = "dc_2"
server = "vpn.example.net:11723"
user = "u"
password = "p"
routes = ["172.16.0.0/12"]
`)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Dials()
	want := []DialParams{
		{Name: "hq", Iface: "dial-hq", Server: "198.51.100.7:1723", User: "branch1", Password: "s3cret",
			Routes: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("10.30.1.0/24")}},
		{Name: "dc_2", Iface: "dial-dc_2", Server: "vpn.example.net:11723", User: "u", Password: "p",
			Routes: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12")}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Dials:\n got %+v\nwant %+v", got, want)
	}
}

func TestDialErrors(t *testing.T) {
	_, err := parseRouter(t, `
[[pptp.dial]]
name = "a-very-long-name"
server = "x:99999"
user = ""
password = ""
routes = ["10.0.0.0", "0.0.0.0/0"]
masquerade = true

[[pptp.dial]]
name = "b"
server = "192.0.2.1"
user = "u"
password = "p"

[[pptp.dial]]
name = "b"
server = "192.0.2.1"
user = "u"
password = "p"
routes = ["10.1.0.0/16"]
`)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"x.toml:3: pptp.dial.0.name:",
		"x.toml:4: pptp.dial.0.server: bad port",
		"x.toml:5: pptp.dial.0.user:",
		"x.toml:6: pptp.dial.0.password:",
		`x.toml:7: pptp.dial.0.routes: "10.0.0.0" is not`,
		`x.toml:7: pptp.dial.0.routes: "0.0.0.0/0" would route everything`,
		"x.toml:8: pptp.dial.0.masquerade: needs the router sections",
		"x.toml:10: pptp.dial.1.routes: list at least one",
		"x.toml:17: pptp.dial.2.name: \"b\" is used by another",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}

func TestDialNATSites(t *testing.T) {
	c, err := parseRouter(t, routerTOML+`
[[pptp.dial]]
name = "hq"
server = "198.51.100.7"
user = "u"
password = "p"
routes = ["10.20.0.0/16"]
masquerade = true
`)
	if err != nil {
		t.Fatal(err)
	}
	p := c.NATParams()
	if len(p.Sites) != 1 || p.Sites[0].Iface != "dial-hq" || !p.Sites[0].Masquerade {
		t.Errorf("sites %+v", p.Sites)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
}
