package config

import (
	"strings"
	"testing"
)

func TestMetricsListen(t *testing.T) {
	// Off by default.
	c, err := parseRouter(t, "[lan]\naddress = \"192.168.1.1/24\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if ap, on := c.MetricsListen(); on {
		t.Errorf("metrics on by default: %v", ap)
	}
	for _, tc := range []struct{ toml, want string }{
		// Router sections: the LAN address or loopback.
		{"[lan]\naddress = \"192.168.1.1/24\"\n[metrics]\nlisten = \"192.168.1.1:9100\"\n", "192.168.1.1:9100"},
		{"[lan]\naddress = \"192.168.1.1/24\"\n[metrics]\nlisten = \"127.0.0.1:9100\"\n", "127.0.0.1:9100"},
		{"[wan]\nmode = \"static\"\naddress = \"203.0.113.2/24\"\n[metrics]\nlisten = \"[::1]:9100\"\n", "[::1]:9100"},
		// No router sections: boxd does not know the sides; any address.
		{"[metrics]\nlisten = \"0.0.0.0:9100\"\n", "0.0.0.0:9100"},
		{"[metrics]\nlisten = \"10.1.2.3:9100\"\n", "10.1.2.3:9100"},
	} {
		c, err := parseRouter(t, tc.toml)
		if err != nil {
			t.Errorf("%q: %v", tc.toml, err)
			continue
		}
		if ap, on := c.MetricsListen(); !on || ap.String() != tc.want {
			t.Errorf("%q: listen %v %v, want %s", tc.toml, ap, on, tc.want)
		}
	}
}

func TestMetricsErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[lan]\naddress = \"192.168.1.1/24\"\n[metrics]\nlisten = \"0.0.0.0:9100\"\n",
			"x.toml:4: metrics.listen: 0.0.0.0 listens on every address, the WAN port's too: use the LAN address (192.168.1.1) or 127.0.0.1"},
		{"[lan]\naddress = \"192.168.1.1/24\"\n[metrics]\nlisten = \":9100\"\n",
			"x.toml:4: metrics.listen: want an IP address"},
		{"[lan]\naddress = \"192.168.1.1/24\"\n[metrics]\nlisten = \"[::]:9100\"\n",
			"x.toml:4: metrics.listen: :: listens on every address"},
		{"[wan]\nmode = \"static\"\naddress = \"203.0.113.2/24\"\n[lan]\naddress = \"192.168.1.1/24\"\n\n[metrics]\nlisten = \"203.0.113.2:9100\"\n",
			"x.toml:8: metrics.listen: 203.0.113.2 is the WAN port's address: the endpoint has no password, use the LAN address (192.168.1.1) or 127.0.0.1"},
		{"[lan]\naddress = \"192.168.1.1/24\"\n[metrics]\nlisten = \"192.168.1.2:9100\"\n",
			"x.toml:4: metrics.listen: 192.168.1.2 is not the LAN address (192.168.1.1) nor loopback"},
		{"[lan]\nenabled = false\n[metrics]\nlisten = \"192.168.1.1:9100\"\n",
			"x.toml:4: metrics.listen: 192.168.1.1 is not the LAN address ([lan] is off) nor loopback"},
		{"[metrics]\nlisten = \"localhost:9100\"\n", "x.toml:2: metrics.listen: want an IP address"},
		{"[metrics]\nlisten = \"127.0.0.1\"\n", "x.toml:2: metrics.listen: want address:port"},
		{"[metrics]\nlisten = \"127.0.0.1:0\"\n", "x.toml:2: metrics.listen: bad port \"0\""},
		{"[metrics]\nlisten = \"127.0.0.1:http\"\n", "x.toml:2: metrics.listen: bad port \"http\""},
		{"[metrics]\nport = 9100\n", "x.toml:2: metrics.port: unknown key"},
		{"[metrics]\nlisten = 9100\n", "x.toml:2: metrics.listen"},
	} {
		_, err := parseRouter(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.toml, err, tc.want)
		}
	}
}

// TestMetricsReload: a changed [metrics] waits for the restart (the
// listener is opened once) and the reload names it.
func TestMetricsReload(t *testing.T) {
	old, err := parseRouter(t, "[metrics]\nlisten = \"127.0.0.1:9100\"\n")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := parseRouter(t, "[metrics]\nlisten = \"127.0.0.1:9200\"\n")
	if err != nil {
		t.Fatal(err)
	}
	eff, pending := nc.ForReload(old)
	if eff.Metrics.Listen != "127.0.0.1:9100" || strings.Join(pending, ",") != "metrics" {
		t.Errorf("reload: listen %q pending %v", eff.Metrics.Listen, pending)
	}
}
