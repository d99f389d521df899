package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestDialOutSiteToSiteRouted: box A dials box B without masquerade, and
// A's user on B has routes = [A's LAN]: the two LANs reach each other by
// their own addresses, both ways; show session on B lists the route, and
// B takes the kernel route away when the session ends.
func TestDialOutSiteToSiteRouted(t *testing.T) {
	netnstest.Require(t, "ip", "nft", "ping")
	bin := buildBinaries(t)
	boxA, boxB, lanA, lanB, _ := siteBench(t)
	sh := func(ns *netnstest.NS, cmds ...string) string { t.Helper(); return runIn(t, ns, cmds...) }
	whoami(t, lanB, "10.20.0.2:8080")
	whoami(t, lanA, "10.10.0.2:8081")

	cfgB, dirB := writeConfig(t, `
[log]
level = "debug"
[pptp]
listen = "192.0.2.1:1723"
[[user]]
name = "site-a"
password = "site-a-pw"
routes = ["10.10.0.0/24"]
`)
	cfgA, dirA := writeConfig(t, "")
	writeFile(t, cfgA, `
[log]
level = "debug"
[wan]
interface = "wan0"
mode = "static"
address = "192.0.2.2/24"
gateway = "192.0.2.1"
[lan]
interface = "lan0"
address = "10.10.0.1/24"
[lan.dhcp]
range = "10.10.0.100-10.10.0.199"
lease_file = "`+filepath.Join(dirA, "leases.json")+`"
[pptp]
enabled = false
[[pptp.dial]]
name = "b"
server = "192.0.2.1"
user = "site-a"
password = "site-a-pw"
routes = ["10.20.0.0/24"]
masquerade = false
`)
	sockB := filepath.Join(dirB, "boxd.sock")
	b := startBoxd(t, boxB, bin, cfgB, sockB, "pptp server ready")
	a := startBoxd(t, boxA, bin, cfgA, filepath.Join(dirA, "boxd.sock"), "")
	a.log.waitFor(t, `msg="dial-out up"`, 60*time.Second)
	b.log.waitSeen(t, `msg="route up" user=site-a`, 10*time.Second)
	if out := sh(boxB, "ip route show 10.10.0.0/24"); !strings.Contains(out, "dev") {
		t.Fatalf("B has no route to A's LAN: %q", out)
	}

	if out, err := lanA.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.20.0.2"); err != nil {
		t.Fatalf("lanA -> lanB ping: %v\n%s\nB:\n%s", err, out, b.log.String())
	}
	if out, err := lanB.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.10.0.2"); err != nil {
		t.Fatalf("lanB -> lanA ping: %v\n%s\nB:\n%s", err, out, b.log.String())
	}
	// Neither side is masqueraded: each server sees the other LAN host.
	if got := askWho(t, lanA, "10.20.0.2:8080"); got != "you are 10.10.0.2\n" {
		t.Fatalf("lanB's server saw %q, want lanA's own address", got)
	}
	if got := askWho(t, lanB, "10.10.0.2:8081"); got != "you are 10.20.0.2\n" {
		t.Fatalf("lanA's server saw %q, want lanB's own address", got)
	}
	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sockB, "show", "session", "site-a").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "10.10.0.0/24") {
		t.Fatalf("show session on B: %v\n%s", err, out)
	}

	// A hangs up: B's session ends and its route to A's LAN goes.
	a.cmd.Process.Signal(syscall.SIGTERM)
	b.log.waitFor(t, `msg="route down" user=site-a`, 20*time.Second)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out := sh(boxB, "ip route show 10.10.0.0/24")
		if strings.TrimSpace(out) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's route to A's LAN left after the session ended: %s", out)
		}
	}
	if err := a.wait(t, 20*time.Second); err != nil {
		t.Errorf("box A exited: %v", err)
	}
}
