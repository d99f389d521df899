package main

import (
	"fmt"
	"os"
	"os/exec"
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

// TestReloadKeepsRulesWithThePorts: a reload applies a new MSS clamp at
// once, but a new [lan] address waits for a restart, and so do the rules
// built from it: the masquerade keeps naming the subnet the LAN port is
// really on, and the log says which sections wait.
func TestReloadKeepsRulesWithThePorts(t *testing.T) {
	bin, box := routerNS(t, "rld")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pptpbox.toml")
	conf := func(lan string, mss int) []byte {
		return []byte(fmt.Sprintf(`
[pptp]
listen = "127.0.0.1:1723"
[wan]
interface = "wan0"
mode = "static"
address = "192.0.2.1/24"
[lan]
interface = "lan0"
address = "%s"
[lan.dhcp]
enabled = false
[nat]
tcp_mss = %d
`, lan, mss))
	}
	os.WriteFile(cfg, conf("192.168.1.1/24", 1356), 0o644)
	boxd := startBoxd(t, box, bin, cfg, "", "pptp server ready")
	ruleset := func() string {
		out, err := box.Run("nft", "list", "table", "inet", "pptpbox")
		if err != nil {
			t.Fatalf("nft: %v\n%s", err, out)
		}
		return out
	}
	if r := ruleset(); !strings.Contains(r, "192.168.1.0/24") || !strings.Contains(r, "1356") {
		t.Fatalf("the first ruleset lacks the LAN subnet or the MSS:\n%s", r)
	}

	os.WriteFile(cfg, conf("192.168.50.1/24", 1300), 0o644)
	boxd.cmd.Process.Signal(syscall.SIGHUP)
	boxd.log.waitFor(t, "reload done", 10*time.Second)
	r := ruleset()
	if !strings.Contains(r, "1300") || strings.Contains(r, "1356") {
		t.Errorf("the MSS clamp did not change to 1300 at once:\n%s", r)
	}
	if !strings.Contains(r, "192.168.1.0/24") || strings.Contains(r, "192.168.50.0/24") {
		t.Errorf("the rules follow the new [lan] address while the port keeps the old one:\n%s", r)
	}
	if out, _ := box.Run("ip", "-4", "addr", "show", "dev", "lan0"); !strings.Contains(out, "192.168.1.1/24") {
		t.Errorf("lan0 lost its running address:\n%s", out)
	}
	if !strings.Contains(boxd.log.String(), `sections=lan`) {
		t.Errorf("the log does not name [lan] as waiting for a restart:\n%s", boxd.log.String())
	}
}

// TestReloadEndsSessionsOfChangedUsers: a reload that removes bob and
// changes alice's password ends their sessions (Admin-Reset, logged with
// the reason), while carol, unchanged, stays connected; the clients see the
// call end. Before, both sessions stayed up on credentials that no longer
// held.
func TestReloadEndsSessionsOfChangedUsers(t *testing.T) {
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "rsrv")
	cli := netnstest.NewNS(t, "rcli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	users := func(alicePW string, bob bool) string {
		c := "[pptp]\nlisten = \"192.0.2.1:1723\"\n" +
			"[[user]]\nname = \"alice\"\npassword = \"" + alicePW + "\"\n" +
			"[[user]]\nname = \"carol\"\npassword = \"carol-pw\"\n"
		if bob {
			c += "[[user]]\nname = \"bob\"\npassword = \"bob-pw\"\n"
		}
		return c
	}
	cfg, dir := writeConfig(t, users("alice-pw", true))
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, srv, bin, cfg, sock, "pptp server ready")
	clients := map[string]*proc{}
	for _, u := range []string{"alice", "bob", "carol"} {
		clients[u] = startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", u, "-password", u+"-pw", "-tun", "c-"+u))
		clients[u].log.waitFor(t, "connected:", 30*time.Second)
		boxd.log.waitFor(t, `msg="session up" user=`+u, 10*time.Second)
	}

	os.WriteFile(cfg, []byte(users("alice-new-pw", false)), 0o644)
	boxd.cmd.Process.Signal(syscall.SIGHUP)
	boxd.log.waitFor(t, "reload done", 10*time.Second)
	for _, u := range []string{"alice", "bob"} {
		clients[u].log.waitFor(t, "link down", 15*time.Second)
		clients[u].wait(t, 15*time.Second)
	}
	out := boxd.log.String()
	for _, want := range []string{
		`msg="reload: session ended" user=bob why="user removed"`,
		`msg="reload: session ended" user=alice why="password changed"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("boxd log lacks %q", want)
		}
	}
	// The two sessions go down in either order: look for each line in the
	// whole output (waitFor consumes the lines it passes over).
	for _, u := range []string{"alice", "bob"} {
		want := `msg="session down" user=` + u + " "
		var line string
		for deadline := time.Now().Add(10 * time.Second); line == "" && time.Now().Before(deadline); {
			for _, l := range strings.Split(boxd.log.String(), "\n") {
				if strings.Contains(l, want) {
					line = l
				}
			}
			if line == "" {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if line == "" {
			t.Fatalf("no %q within 10s; output:\n%s", want, boxd.log.String())
		}
		if !strings.Contains(line, "cause=Admin-Reset") {
			t.Errorf("%s's session did not end as Admin-Reset: %s", u, line)
		}
	}
	if strings.Contains(out, `msg="session down" user=carol`) || strings.Contains(out, "user=carol why=") {
		t.Errorf("carol's session ended:\n%s", out)
	}
	sessions, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "sessions").CombinedOutput()
	if err != nil || !strings.Contains(string(sessions), "carol") || strings.Contains(string(sessions), "alice") {
		t.Fatalf("boxctl show sessions after the reload: %v\n%s\n%s", err, sessions, out)
	}
}
