package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuthGuardKeys(t *testing.T) {
	d := Default().PPTP.AuthGuard
	if d.AuthFailLimit != 5 || d.AuthFailSourceLimit != 20 || d.AuthFailWindow.Duration != 15*time.Minute ||
		d.AuthFailDelay.Duration != time.Second || d.AuthFailMaxDelay.Duration != 30*time.Second {
		t.Fatalf("defaults %+v", d)
	}
	c, err := Parse("x.toml", []byte("[pptp]\nauth_fail_limit = 3\nauth_fail_source_limit = 9\nauth_fail_window = \"1h\"\nauth_fail_delay = \"500ms\"\nauth_fail_max_delay = \"1m\"\n"))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	g := c.PPTP.AuthGuard
	if g.AuthFailLimit != 3 || g.AuthFailSourceLimit != 9 || g.AuthFailWindow.Duration != time.Hour ||
		g.AuthFailDelay.Duration != 500*time.Millisecond || g.AuthFailMaxDelay.Duration != time.Minute {
		t.Fatalf("parsed %+v", g)
	}
	if c, err := Parse("x.toml", []byte("[pptp]\nauth_fail_limit = 0\nauth_fail_delay = \"0s\"\n")); err != nil || c.Validate() != nil {
		t.Fatalf("a guard turned off needs no other key: %v", err)
	}
	for _, tc := range []struct{ toml, want string }{
		{"[pptp]\nauth_fail_limit = -1\n", "x.toml:2: pptp.auth_fail_limit: must be between 0 (off) and 1000"},
		{"[pptp]\nauth_fail_limit = 10\nauth_fail_source_limit = 5\n", "x.toml:3: pptp.auth_fail_source_limit: must be between auth_fail_limit (10)"},
		{"[pptp]\nauth_fail_window = \"10s\"\n", "x.toml:2: pptp.auth_fail_window: must be between 1m and 24h"},
		{"[pptp]\nauth_fail_delay = \"1ms\"\n", "x.toml:2: pptp.auth_fail_delay: must be between 10ms and 1m"},
		{"[pptp]\nauth_fail_delay = \"2s\"\nauth_fail_max_delay = \"1s\"\n", "x.toml:3: pptp.auth_fail_max_delay: must be between auth_fail_delay (2s) and 5m"},
		{"[pptp]\nauth_fail_delays = \"2s\"\n", "x.toml:2: pptp.auth_fail_delays: unknown key"},
	} {
		c, err := Parse("x.toml", []byte(tc.toml))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.toml, err, tc.want)
		}
	}
}
