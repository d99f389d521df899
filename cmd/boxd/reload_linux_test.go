package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// A reload that adds a user with a fixed address outside the pool routes
// that address to the TUN (as a start does), and one that drops the user
// removes the route: without it the user's return traffic would leave by
// the default route.
func TestReloadRoutesFixedAddresses(t *testing.T) {
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "srv")
	if out, err := srv.Run("ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pptpbox.toml")
	base := "[pptp]\nlisten = \"127.0.0.1:1723\"\n[[user]]\nname = \"alice\"\npassword = \"alice-pw\"\n"
	withBob := base + "[[user]]\nname = \"bob\"\npassword = \"bob-pw\"\nip = \"10.80.0.5\"\n"
	os.WriteFile(cfg, []byte(base), 0o644)
	boxd := startBoxd(t, srv, bin, cfg, "", "pptp server ready")
	boxLog := boxd.log
	route := func() string {
		out, err := srv.Run("ip", "-4", "route", "show", "10.80.0.5/32")
		if err != nil {
			t.Fatalf("ip route: %v %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if r := route(); r != "" {
		t.Fatalf("route before bob exists: %q", r)
	}
	for i, step := range []struct {
		config string
		want   bool
	}{{withBob, true}, {base, false}} {
		os.WriteFile(cfg, []byte(step.config), 0o644)
		boxd.cmd.Process.Signal(syscall.SIGHUP)
		boxLog.waitFor(t, "reload done", 10*time.Second)
		if r := route(); strings.Contains(r, "dev pptp0") != step.want {
			t.Fatalf("reload %d: route to 10.80.0.5 %q, want present=%v\n%s", i, r, step.want, boxLog.String())
		}
	}
}
