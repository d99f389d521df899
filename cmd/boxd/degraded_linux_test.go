package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestBoxdServesWithoutLAN: a config naming a LAN interface the box does
// not have (its card missing) no longer makes boxd exit at every start: it
// serves PPTP and the WAN, ping (the init's readiness check) and show
// system name the missing port and what is off, and the port comes up when
// its interface appears.
func TestBoxdServesWithoutLAN(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	bin := buildBinaries(t)
	box := netnstest.NewNS(t, "degr")
	if out, err := box.Run("ip", "tuntap", "add", "wan0", "mode", "tap"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	cfg, dir := writeConfig(t, "")
	os.WriteFile(cfg, []byte(`
[wan]
interface = "wan0"
mode = "static"
address = "192.0.2.1/24"
[lan]
interface = "lan0"
address = "192.168.1.1/24"
[lan.dhcp]
lease_file = "`+filepath.Join(dir, "leases.json")+`"
[[user]]
name = "alice"
password = "alice-pw"
`), 0o644)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, box, bin, cfg, sock, "pptp server ready")
	boxctl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "boxctl"), append([]string{"-socket", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("boxctl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := boxctl("ping"); !strings.Contains(out, `no lan port (interface lan0 absent): off: LAN address 192.168.1.1/24, LAN DHCP server`) {
		t.Errorf("ping does not say the box is degraded:\n%s", out)
	}
	if out := boxctl("show", "system"); !strings.Contains(out, "lan0 MISSING") || !strings.Contains(out, "wan0 up") {
		t.Errorf("show system does not name the missing port:\n%s", out)
	}
	select {
	case <-boxd.done:
		t.Fatalf("boxd exited: %v", boxd.err)
	default:
	}

	// The card arrives: the port comes up, ping is clean.
	if out, err := box.Run("ip", "tuntap", "add", "lan0", "mode", "tap"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := boxctl("ping")
		if !strings.Contains(out, "degraded") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still degraded after lan0 appeared:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, _ := box.Run("ip", "-4", "addr", "show", "lan0"); !strings.Contains(out, "192.168.1.1/24") {
		t.Errorf("lan0 has no LAN address:\n%s", out)
	}
}
