package config

import (
	"slices"
	"strings"
	"testing"
)

func TestTimeDefaults(t *testing.T) {
	for _, tc := range []struct {
		toml    string
		enabled bool
		servers []string
	}{
		// With a WAN (router sections) the box sets its clock.
		{"[wan]\nmode = \"dhcp\"\n", true, []string{"pool.ntp.org"}},
		// A plain PPTP server on a host: the host's time daemon does it.
		{"[pptp]\nlocal_ip = \"10.79.97.1\"\n", false, []string{"pool.ntp.org"}},
		{"[pptp]\nlocal_ip = \"10.79.97.1\"\n[time]\nenabled = true\n", true, []string{"pool.ntp.org"}},
		{"[wan]\nmode = \"dhcp\"\n[time]\nenabled = false\n", false, []string{"pool.ntp.org"}},
		{"[wan]\nmode = \"dhcp\"\n[time]\nservers = [\"192.0.2.1\", \"ntp.example.net:1123\", \"[2001:db8::1]:123\"]\n", true,
			[]string{"192.0.2.1", "ntp.example.net:1123", "[2001:db8::1]:123"}},
	} {
		c, err := parseRouter(t, tc.toml)
		if err != nil {
			t.Errorf("%q: %v", tc.toml, err)
			continue
		}
		if c.Time.Enabled != tc.enabled || !slices.Equal(c.Time.Servers, tc.servers) {
			t.Errorf("%q: %+v, want enabled %v servers %v", tc.toml, c.Time, tc.enabled, tc.servers)
		}
	}
	if d := Default(); !d.Time.Enabled || len(d.Time.Servers) != 1 {
		t.Errorf("default: %+v", d.Time)
	}
}

func TestTimeAndSyslogErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[time]\nenabled = true\nservers = []\n", "x.toml:3: time.servers: give 1 to 8 servers (or enabled = false), got 0"},
		{"[time]\nenabled = true\nservers = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]\n", "x.toml:3: time.servers: give 1 to 8 servers"},
		{"[time]\nenabled = true\nservers = [\"pool.ntp.org:0\"]\n", `x.toml:3: time.servers: "pool.ntp.org:0": bad port "0"`},
		{"[time]\nenabled = true\n\nservers = [\"bad host\"]\n", `x.toml:4: time.servers: "bad host": not an IP address or host name`},
		{"[time]\nenabled = true\nservers = [\"-x.org\"]\n", `time.servers: "-x.org": not an IP address or host name`},
		{"[log]\nsyslog = \"syslog.lan:514\"\n", `x.toml:2: log.syslog: want IP:port ("192.168.1.10:514"), got "syslog.lan:514"`},
		{"[log]\nsyslog = \"192.168.1.10\"\n", `x.toml:2: log.syslog: want IP:port`},
		{"[log]\nsyslog = \"192.168.1.10:0\"\n", `x.toml:2: log.syslog: want a server's IP:port`},
		{"[log]\nsyslog = \"0.0.0.0:514\"\n", `x.toml:2: log.syslog: want a server's IP:port`},
		{"[time]\nserver = [\"x\"]\n", "x.toml:2: time.server: unknown key"},
	} {
		_, err := parseRouter(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.toml, err, tc.want)
		}
	}
	// Off: the servers are not checked.
	if _, err := parseRouter(t, "[time]\nenabled = false\nservers = []\n[log]\nsyslog = \"[::1]:514\"\n"); err != nil {
		t.Error(err)
	}
}
