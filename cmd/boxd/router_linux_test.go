package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestVPNClientThroughNAT is the router and the VPN server together, on a
// real kernel: a PPTP client on the internet side dials the box's WAN
// address, routes a documentation prefix through the tunnel, and reaches a
// server there through the box's NAT. The server must see the box's WAN
// address, the SYN must carry the clamped MSS, and the WAN must drop what it
// does not serve.
//
//	cli (203.0.113.2) ── inet (203.0.113.1 | 192.0.2.254, server 198.51.100.1) ── box wan0 192.0.2.1
//	                                                                              box lan0 192.168.1.1 ── lanhost
func TestVPNClientThroughNAT(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	bin := buildBinaries(t)
	box := netnstest.NewNS(t, "box")
	inet := netnstest.NewNS(t, "inet")
	cli := netnstest.NewNS(t, "cli")
	lan := netnstest.NewNS(t, "lanh")
	netnstest.NewWire(t, box, "wan0", inet, "tobox")
	netnstest.NewWire(t, inet, "tocli", cli, "eth0")
	netnstest.NewWire(t, box, "lan0", lan, "eth0")
	sh := func(ns *netnstest.NS, cmds ...string) {
		t.Helper()
		for _, c := range cmds {
			f := strings.Fields(c)
			if out, err := ns.Run(f[0], f[1:]...); err != nil {
				t.Fatalf("%s: %v\n%s", c, err, out)
			}
		}
	}
	sh(inet, "ip addr add 192.0.2.254/24 dev tobox", "ip link set tobox up",
		"ip addr add 203.0.113.1/24 dev tocli", "ip link set tocli up",
		"ip addr add 198.51.100.1/32 dev lo", "sysctl -qw net.ipv4.ip_forward=1",
		"nft add table inet probe",
		"nft add counter inet probe mss1356",
		"nft add counter inet probe mssother",
		"nft add chain inet probe in { type filter hook input priority 0 ; }",
		"nft add rule inet probe in tcp dport 8080 tcp flags & (syn | ack) == syn tcp option maxseg size 1356 counter name mss1356",
		"nft add rule inet probe in tcp dport 8080 tcp flags & (syn | ack) == syn tcp option maxseg size != 1356 counter name mssother")
	sh(cli, "ip addr add 203.0.113.2/24 dev eth0", "ip link set eth0 up", "ip route add default via 203.0.113.1")
	// The box's own interfaces exist (boxd checks them); boxd configures them.

	// The "internet" server: answers each connection with the address it came from.
	lnc := make(chan net.Listener, 1)
	if err := inet.Do(func() error {
		ln, err := net.Listen("tcp4", "198.51.100.1:8080")
		lnc <- ln
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ln := <-lnc
	defer ln.Close()
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

	cfg, dir := writeConfig(t, "")
	os.WriteFile(cfg, []byte(`
[log]
level = "debug"
[wan]
interface = "wan0"
mode = "static"
address = "192.0.2.1/24"
gateway = "192.0.2.254"
[lan]
interface = "lan0"
address = "192.168.1.1/24"
[lan.dhcp]
lease_file = "`+filepath.Join(dir, "leases.json")+`"
[nat]
tcp_mss = 1356
[metrics]
listen = "192.168.1.1:9100"
[[user]]
name = "alice"
password = "alice-pw"
`), 0o644)
	boxd := startBoxd(t, box, bin, cfg, filepath.Join(dir, "boxd.sock"), "pptp server ready")
	boxLog := boxd.log
	cliLog := startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", "alice", "-password", "alice-pw")).log
	cliLog.waitFor(t, "connected: local 10.79.97.10", 30*time.Second)
	sh(cli, "ip route add 198.51.100.0/24 dev pptpc0")

	// Through the tunnel and the NAT: the server sees the box's WAN address.
	var got string
	if err := cli.Do(func() error {
		c, err := net.DialTimeout("tcp4", "198.51.100.1:8080", 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		got = string(b)
		return err
	}); err != nil {
		t.Fatalf("VPN client -> internet server: %v\n%s", err, boxLog.String())
	}
	if got != "you are 192.0.2.1\n" {
		t.Fatalf("internet server saw %q, want the box's WAN address", got)
	}
	if n, o := nftCounter(t, inet, "mss1356"), nftCounter(t, inet, "mssother"); n != 1 || o != 0 {
		t.Fatalf("SYNs with MSS 1356: %d, other MSS: %d (want 1, 0)", n, o)
	}

	// Unsolicited traffic to another WAN port is dropped: no answer, not
	// even a reset.
	if err := inet.Do(func() error {
		c, err := net.DialTimeout("tcp4", "192.0.2.1:22", 2*time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("WAN port 22 answered")
		}
		if !strings.Contains(err.Error(), "timeout") {
			return fmt.Errorf("WAN port 22: %v (want a silent drop)", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// /metrics on the LAN address (boxd waited for the router to put it
	// on lan0): the session, the firewall's counters; from the WAN side
	// the endpoint is not there (another address, and the WAN drops).
	m := scrapeNS(t, box, "192.168.1.1:9100")
	for _, want := range []struct {
		series   string
		min, max float64
	}{
		{`pptpbox_sessions{state="up"}`, 1, 1},
		{`pptpbox_firewall_packets_total{counter="wan_in_dropped"}`, 1, 100},
		{`pptpbox_firewall_packets_total{counter="mss_clamped"}`, 1, 10},
		{`pptpbox_firewall_bytes_total{counter="mss_clamped"}`, 40, 1000},
		{`pptpbox_dhcp_events_total{event="lease_write_errors"}`, 0, 0},
	} {
		if v, _, ok := m.find(want.series); !ok || v < want.min || v > want.max {
			t.Errorf("/metrics %s = %v (%v), want %v..%v", want.series, v, ok, want.min, want.max)
		}
	}
	if err := inet.Do(func() error {
		c, err := net.DialTimeout("tcp4", "192.0.2.1:9100", 2*time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("/metrics answered on the WAN address")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	boxd.cmd.Process.Signal(os.Interrupt)
	boxLog.waitFor(t, `msg="session down" user=alice`, 15*time.Second)
}

// nftCounter reads a named counter of the probe table in ns.
func nftCounter(t *testing.T, ns *netnstest.NS, name string) int {
	t.Helper()
	out, err := ns.Run("nft", "list", "counter", "inet", "probe", name)
	if err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	f := strings.Fields(out[strings.Index(out, "packets")+len("packets"):])
	n, _ := strconv.Atoi(f[0])
	return n
}

// TestRouterModeStartFailureExits: when the PPTP server cannot start (its
// port is taken), boxd in router mode says why and exits instead of hanging
// on the router it already started.
func TestRouterModeStartFailureExits(t *testing.T) {
	bin, box := routerNS(t, "fail")
	lnc := make(chan net.Listener, 1)
	if err := box.Do(func() error {
		ln, err := net.Listen("tcp4", ":1723")
		lnc <- ln
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer (<-lnc).Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pptpbox.toml")
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
`), 0o644)
	cmd := box.Cmd(filepath.Join(bin, "boxd"), "-config", cfg, "-control", "")
	done := make(chan []byte, 1)
	go func() { out, _ := cmd.CombinedOutput(); done <- out }()
	select {
	case out := <-done:
		if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "address already in use") {
			t.Fatalf("exit %d, output:\n%s", cmd.ProcessState.ExitCode(), out)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("boxd hung after failing to start: %s", <-done)
	}
}

// routerNS builds the binaries and a namespace for a router-mode boxd whose
// wan0 and lan0 exist (boxd checks them) and lead to a peer namespace.
func routerNS(t *testing.T, name string) (bin string, box *netnstest.NS) {
	t.Helper()
	netnstest.Require(t, "ip", "nft")
	bin = buildBinaries(t)
	box = netnstest.NewNS(t, name)
	other := netnstest.NewNS(t, name+"peer")
	netnstest.NewWire(t, box, "wan0", other, "eth0")
	netnstest.NewWire(t, box, "lan0", other, "eth1")
	return bin, box
}
