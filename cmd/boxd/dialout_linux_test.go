package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestDialOutSiteToSite is [[pptp.dial]] on a real kernel: box A (a router
// with a LAN) dials box B (a PPTP server with a subnet behind it), routes
// B's subnet through the tunnel and masquerades into it. Hosts on A's LAN
// reach B's LAN (ping, TCP), B's side reaches A through the tunnel; B
// killed, the tunnel and its route go; B started again, A dials back by
// itself. A pulled cable is noticed by the LCP keepalive.
//
//	lanA 10.10.0.2 ── lan0 10.10.0.1 [box A] wan0 192.0.2.2 ── eth0 192.0.2.1 [box B] lan1 10.20.0.1 ── lanB 10.20.0.2
func TestDialOutSiteToSite(t *testing.T) {
	netnstest.Require(t, "ip", "nft", "ping")
	bin := buildBinaries(t)
	boxA, boxB, lanA, lanB, wan := siteBench(t)
	sh := func(ns *netnstest.NS, cmds ...string) string { t.Helper(); return runIn(t, ns, cmds...) }

	// Who-are-you servers: on B's LAN, and on box A (reached through the
	// tunnel from B's side).
	whoami(t, lanB, "10.20.0.2:8080")
	whoami(t, boxA, "0.0.0.0:8081")

	cfgB, dirB := writeConfig(t, `
[log]
level = "debug"
[pptp]
listen = "192.0.2.1:1723"
[[user]]
name = "site-a"
password = "site-a-pw"
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
masquerade = true
`)
	sockA := filepath.Join(dirA, "boxd.sock")
	var local string // A's tunnel address
	b := startBoxd(t, boxB, bin, cfgB, filepath.Join(dirB, "boxd.sock"), "pptp server ready")
	a := startBoxd(t, boxA, bin, cfgA, sockA, "")
	up := func(d time.Duration) {
		t.Helper()
		line := a.log.waitFor(t, `msg="dial-out up"`, d)
		m := regexp.MustCompile(`local=(10\.79\.97\.\d+)`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("dial-out up without a pool address: %s", line)
		}
		local = m[1]
	}
	up(60 * time.Second)
	b.log.waitSeen(t, `msg="session up" user=site-a`, 10*time.Second)

	traffic := func() {
		t.Helper()
		if out, err := lanA.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.20.0.2"); err != nil {
			t.Fatalf("lanA -> lanB ping: %v\n%s\nA:\n%s", err, out, a.log.String())
		}
		// Masqueraded into the tunnel: B's LAN sees A's tunnel address.
		if got := askWho(t, lanA, "10.20.0.2:8080"); got != "you are "+local+"\n" {
			t.Fatalf("lanB server saw %q, want A's tunnel address", got)
		}
		if out, err := lanB.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", local); err != nil {
			t.Fatalf("lanB -> box A ping: %v\n%s", err, out)
		}
		if got := askWho(t, lanB, local+":8081"); got != "you are 10.20.0.2\n" {
			t.Fatalf("box A saw %q, want lanB's address", got)
		}
	}
	traffic()
	show := func() string {
		out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sockA, "show", "dialout").CombinedOutput()
		if err != nil {
			t.Fatalf("show dialout: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := show(); !strings.Contains(out, "dial-b") || !strings.Contains(out, " up ") ||
		!strings.Contains(out, local+" -> 10.79.97.1") || !strings.Contains(out, "10.20.0.0/24 (masquerade)") {
		t.Fatalf("show dialout:\n%s", out)
	}

	// B dies: A's control connection ends, the link goes down, and the
	// device with its route is gone until A dials back.
	b.cmd.Process.Signal(syscall.SIGKILL)
	b.wait(t, 10*time.Second)
	a.log.waitFor(t, `msg="dial-out down"`, 30*time.Second)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out := sh(boxA, "ip route show 10.20.0.0/24")
		if strings.TrimSpace(out) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("route left while down: %s", out)
		}
	}
	if out := show(); !strings.Contains(out, "backoff") && !strings.Contains(out, "dialing") {
		t.Errorf("show dialout while B is down:\n%s", out)
	}
	time.Sleep(3 * time.Second) // a failed dial or two
	start := time.Now()
	b = startBoxd(t, boxB, bin, cfgB, filepath.Join(dirB, "boxd2.sock"), "pptp server ready")
	up(60 * time.Second)
	t.Logf("tunnel back %s after B restarted", time.Since(start).Round(time.Millisecond))
	traffic()

	// A pulled cable: no FIN, no RST; the LCP echoes go unanswered and
	// A notices within about 20 s (5 s interval, 3 failures).
	wan.SetPlugged(false)
	start = time.Now()
	a.log.waitFor(t, `msg="dial-out down"`, 30*time.Second)
	t.Logf("dead peer noticed after %s", time.Since(start).Round(time.Millisecond))
	wan.SetPlugged(true)
	up(90 * time.Second)
	traffic()
	if out := show(); !strings.Contains(out, " up ") {
		t.Errorf("show dialout at the end:\n%s", out)
	}

	// A stops: it hangs up (B sees the session end) and exits cleanly.
	a.cmd.Process.Signal(syscall.SIGTERM)
	a.log.waitFor(t, `msg="dial-out hung up"`, 20*time.Second)
	if err := a.wait(t, 20*time.Second); err != nil {
		t.Fatalf("boxd A exit: %v\n%s", err, a.log.String())
	}
	b.log.waitSeen(t, `msg="session down" user=site-a`, 10*time.Second)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// whoami serves addr in ns: each connection is told its source address.
func whoami(t *testing.T, ns *netnstest.NS, addr string) {
	t.Helper()
	lnc := make(chan net.Listener, 1)
	if err := ns.Do(func() error {
		ln, err := net.Listen("tcp4", addr)
		lnc <- ln
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ln := <-lnc
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "you are %s\n", c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
}

// askWho connects to addr from ns and returns what it says.
func askWho(t *testing.T, ns *netnstest.NS, addr string) string {
	t.Helper()
	var got string
	if err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		got = string(b)
		return err
	}); err != nil {
		t.Fatalf("tcp to %s: %v", addr, err)
	}
	return got
}

// siteBench is the two sites of the dial-out tests: box A (wan0 192.0.2.2 side, lan0 to
// lanA 10.10.0.2) and box B (eth0 192.0.2.1, lan1 10.20.0.1 to lanB 10.20.0.2), B's and
// the LAN hosts' addresses set; box A is the caller's to configure (boxd does it). wan is
// the A-B cable.
func siteBench(t *testing.T) (boxA, boxB, lanA, lanB *netnstest.NS, wan *netnstest.Wire) {
	t.Helper()
	boxA, boxB = netnstest.NewNS(t, "boxa"), netnstest.NewNS(t, "boxb")
	lanA, lanB = netnstest.NewNS(t, "lana"), netnstest.NewNS(t, "lanb")
	wan = netnstest.NewWire(t, boxA, "wan0", boxB, "eth0")
	netnstest.NewWire(t, boxA, "lan0", lanA, "eth0")
	netnstest.NewWire(t, boxB, "lan1", lanB, "eth0")
	runIn(t, boxB, "ip addr add 192.0.2.1/24 dev eth0", "ip link set eth0 up",
		"ip addr add 10.20.0.1/24 dev lan1", "ip link set lan1 up")
	runIn(t, lanA, "ip addr add 10.10.0.2/24 dev eth0", "ip link set eth0 up", "ip route add default via 10.10.0.1")
	runIn(t, lanB, "ip addr add 10.20.0.2/24 dev eth0", "ip link set eth0 up", "ip route add default via 10.20.0.1")
	return boxA, boxB, lanA, lanB, wan
}

// runIn runs each command (split on spaces) in ns and returns their joined output; a
// failure fails the test.
func runIn(t *testing.T, ns *netnstest.NS, cmds ...string) string {
	t.Helper()
	var all string
	for _, c := range cmds {
		f := strings.Fields(c)
		out, err := ns.Run(f[0], f[1:]...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
		all += out
	}
	return all
}
