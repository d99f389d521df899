package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
)

// TestAuthGuardMapping: the [pptp] auth_fail_* keys reach the guard, and
// auth_fail_limit = 0 turns it off.
func TestAuthGuardMapping(t *testing.T) {
	c, err := config.Parse("x.toml", []byte("[pptp]\nauth_fail_limit = 2\nauth_fail_source_limit = 3\nauth_fail_delay = \"500ms\"\nauth_fail_max_delay = \"1s\"\n"))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	g := authGuard(c.PPTPParams().Guard)
	src := netip.MustParseAddr("198.51.100.1")
	want := []time.Duration{0, 0, 500 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if v := g.Failure(src, "alice"); v.Delay != w {
			t.Fatalf("failure %d: %+v, want delay %v", i+1, v, w)
		}
	}
	if _, refused := g.Refused(src); !refused {
		t.Fatal("source past auth_fail_source_limit not refused")
	}
	off, err := config.Parse("x.toml", []byte("[pptp]\nauth_fail_limit = 0\n"))
	if err == nil {
		err = off.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	if authGuard(off.PPTPParams().Guard) != nil {
		t.Fatal("auth_fail_limit = 0 did not turn the guard off")
	}
}
