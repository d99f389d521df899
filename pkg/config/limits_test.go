package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPPTPLimitsDefaults: the limit keys default to what a router on an
// open WAN wants (issue 14), and a file may set each of them.
func TestPPTPLimitsDefaults(t *testing.T) {
	p := Default().PPTP
	if p.MaxConnections != 512 || p.MaxConnectionsPerSource != 8 || p.MaxCallsPerConnection != 1 ||
		p.MaxUnauthenticatedPerSource != 4 || p.StartTimeout.Duration != 10*time.Second || p.LoginTimeout.Duration != 30*time.Second {
		t.Fatalf("defaults: %+v", p)
	}
	c, err := Parse("x.toml", []byte(`[pptp]
max_connections = 2000
max_connections_per_source = 0
max_calls_per_connection = 4
max_unauthenticated_per_source = 0
start_timeout = "3s"
login_timeout = "1m"
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p = c.PPTP
	if p.MaxConnections != 2000 || p.MaxConnectionsPerSource != 0 || p.MaxCallsPerConnection != 4 ||
		p.MaxUnauthenticatedPerSource != 0 || p.StartTimeout.Duration != 3*time.Second || p.LoginTimeout.Duration != time.Minute {
		t.Fatalf("parsed: %+v", p)
	}
}

func TestPPTPLimitsErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[pptp]\nmax_connections = 0\n", "x.toml:2: pptp.max_connections: must be between 1 and 65535"},
		{"[pptp]\nmax_connections = 10\nmax_connections_per_source = 11\n", "x.toml:3: pptp.max_connections_per_source: 11 is more than max_connections (10)"},
		{"[pptp]\nmax_connections_per_source = -1\n", "x.toml:2: pptp.max_connections_per_source: must be between 0"},
		{"[pptp]\nmax_calls_per_connection = 70000\n", "x.toml:2: pptp.max_calls_per_connection: must be between 0"},
		{"[pptp]\nmax_unauthenticated_per_source = -2\n", "x.toml:2: pptp.max_unauthenticated_per_source: must be between 0"},
		{"[pptp]\nstart_timeout = \"100ms\"\n", "x.toml:2: pptp.start_timeout: must be between 1s and 10m"},
		{"[pptp]\nlogin_timeout = \"1s\"\n", "x.toml:2: pptp.login_timeout: must be between 5s and 10m"},
		{"[pptp]\nlogin_timeout = \"soon\"\n", "x.toml:2"},
	} {
		p := filepath.Join(t.TempDir(), "x.toml")
		if err := os.WriteFile(p, []byte(tc.toml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil {
			t.Errorf("%q: no error", tc.toml)
			continue
		}
		if got := strings.ReplaceAll(err.Error(), p, "x.toml"); !strings.Contains(got, tc.want) {
			t.Errorf("error %q\nwant it to contain %q", got, tc.want)
		}
	}
}
