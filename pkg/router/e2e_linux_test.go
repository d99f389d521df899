package router_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/dhcp4c"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/router"
)

// boxEnv names the config file when the test binary is re-run as the box
// (inside the box namespace, as boxd would run).
const boxEnv = "PPTPBOX_E2E_BOX_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(boxEnv); path != "" {
		if err := runBox(path); err != nil {
			fmt.Fprintln(os.Stderr, "box:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBox is the router half of boxd: load and check the config, run the
// router; SIGHUP reloads the file as boxd does (config.Load, ForReload
// against the running config, Router.Reload), and a bad file is logged
// and ignored.
func runBox(path string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := config.Load(path)
	if err != nil {
		return err
	}
	// As boxd: an interface the config names that is absent is a port the
	// router waits for, not an error.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ports := c.Ports()
	ports.ResolvConf = filepath.Join(filepath.Dir(path), "resolv.conf")
	r := router.New(router.Config{Ports: ports, DHCPServer: c.DHCPServer(), NAT: c.NATParams(), Logger: log})
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		running := c
		for range hup {
			nc, err := config.Load(path)
			var eff *config.Config
			if err == nil {
				eff, _ = nc.ForReload(running)
				err = r.Reload(ctx, eff.NATParams())
			}
			if err != nil {
				log.Error("reload refused", "err", err)
				continue
			}
			running = eff
			log.Info("reload done")
		}
	}()
	return r.Run(ctx)
}

// lockedBuffer collects the box's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func boxConfig(mss int, extra string) string {
	return fmt.Sprintf(`
[wan]
interface = "wan0"
mode = "dhcp"

[lan]
interface = "lan0"
address = "192.168.1.1/24"

[lan.dhcp]
range = "192.168.1.100-110"
lease_time = "1h"
lease_file = "leases.json"

[pptp]
tun = "pptp0"

[nat]
tcp_mss = %d

[[port_forward]]
proto = "tcp"
port = 2222
to = "192.168.1.100:22"
%s`, mss, extra)
}

// eventually polls cond every 100ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last state:\n%s", what, last)
}

var counterRe = regexp.MustCompile(`packets (\d+)`)

func counter(t *testing.T, ns *netnstest.NS, family, table, name string) int {
	t.Helper()
	out, err := ns.Run("nft", "list", "counter", family, table, name)
	if err != nil {
		t.Fatal(err)
	}
	m := counterRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no packets in %q", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// serveWANDHCP is the ISP's DHCP server on isp0.
func serveWANDHCP(t *testing.T, inet *netnstest.NS, first, last string) func() {
	t.Helper()
	s, err := dhcpd.New(dhcpd.Config{Iface: "isp0", ServerAddr: netip.MustParseAddr("198.51.100.1"),
		Prefix:     netip.MustParsePrefix("198.51.100.0/24"),
		RangeStart: netip.MustParseAddr(first), RangeEnd: netip.MustParseAddr(last),
		LeaseTime: time.Hour, Router: netip.MustParseAddr("198.51.100.1"),
		DNS: []netip.Addr{netip.MustParseAddr("198.51.100.1")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := inet.Go(func() error { return s.Serve(ctx) })
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// listen opens a TCP listener in ns that answers each connection with the
// peer address it sees, then closes.
func listen(t *testing.T, ns *netnstest.NS, addr string) {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s\n", c.RemoteAddr())
			c.Close()
		}
	}()
}

// dial connects from ns and returns the first line the server sends.
func dial(ns *netnstest.NS, addr string, timeout time.Duration) (string, error) {
	var line string
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(line), err
}

// TestEndToEnd builds internet <-> box <-> LAN host in three namespaces
// and runs the box from a TOML config, as boxd does.
func TestEndToEnd(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	inet, box, host := netnstest.NewNS(t, "inet"), netnstest.NewNS(t, "box"), netnstest.NewNS(t, "host")
	wanWire := netnstest.NewWire(t, inet, "isp0", box, "wan0")
	netnstest.NewWire(t, box, "lan0", host, "eth0")

	// The internet: the ISP router 198.51.100.1 with its DHCP server, and
	// a server at 203.0.113.80 that tells each client its source address.
	for _, args := range [][]string{
		{"ip", "addr", "add", "198.51.100.1/24", "dev", "isp0"},
		{"ip", "link", "set", "isp0", "up"},
		{"ip", "addr", "add", "203.0.113.80/32", "dev", "lo"},
		// Count SYNs reaching the server by the MSS they carry.
		{"nft", "add table inet probe; " +
			"add counter inet probe mss1356; add counter inet probe mssother; " +
			"add chain inet probe in { type filter hook input priority 0; }; " +
			"add rule inet probe in tcp dport 8080 tcp flags & (syn | ack) == syn tcp option maxseg size 1356 counter name mss1356; " +
			"add rule inet probe in tcp dport 8080 tcp flags & (syn | ack) == syn tcp option maxseg size != 1356 counter name mssother"},
	} {
		if _, err := inet.Run(args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	stopISP := serveWANDHCP(t, inet, "198.51.100.10", "198.51.100.20")
	listen(t, inet, "203.0.113.80:8080")

	// The box, in its own process inside the box namespace.
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "pptpbox.toml")
	writeCfg := func(text string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(strings.ReplaceAll(text, `"leases.json"`, strconv.Quote(filepath.Join(dir, "leases.json")))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(boxConfig(1356, ""))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := box.Cmd(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), boxEnv+"="+cfgPath)
	var boxLog lockedBuffer
	cmd.Stdout, cmd.Stderr = &boxLog, &boxLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("box exited: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("box did not stop on SIGTERM")
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("box log:\n%s", boxLog.String())
		}
	})
	table := func() string {
		out, _ := box.Run("nft", "-n", "list", "table", "inet", nat.TableName)
		return out
	}

	// 1. The box takes a WAN lease and its rules name the WAN address.
	eventually(t, 30*time.Second, "box wan lease and rules", func() (bool, string) {
		tb := table()
		return strings.Contains(tb, "ip daddr 198.51.100.10 tcp dport 2222"), boxLog.String() + tb
	})

	// 2. The LAN host gets a lease from the box.
	leases := make(chan dhcp4c.Lease, 4)
	hctx, hcancel := context.WithCancel(context.Background())
	defer hcancel()
	hc := &dhcp4c.Client{Iface: "eth0", Timeout: time.Second, OnLease: func(l dhcp4c.Lease) { leases <- l },
		Install: func(_ *dhcp4c.Lease, l dhcp4c.Lease) {
			if err := netcfg.AddAddr("eth0", l.Addr, netip.Addr{}); err != nil {
				t.Errorf("host address: %v", err)
			}
			if err := netcfg.AddRouteVia(netip.MustParsePrefix("0.0.0.0/0"), l.Router, "eth0"); err != nil {
				t.Errorf("host default route: %v", err)
			}
		}}
	hostDone := host.Go(func() error {
		if err := netcfg.LinkUp("eth0"); err != nil {
			return err
		}
		return hc.Run(hctx)
	})
	defer func() {
		hcancel()
		if err := <-hostDone; err != nil {
			t.Error(err)
		}
	}()
	select {
	case l := <-leases:
		if l.Addr != netip.MustParsePrefix("192.168.1.100/24") || l.Router != netip.MustParseAddr("192.168.1.1") {
			t.Fatalf("host lease %v", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("host got no lease; box log:\n%s", boxLog.String())
	}

	// 3. The host reaches the internet server, which sees the box's WAN
	// address; the SYN arrived with its MSS clamped from 1460 to 1356.
	seen, err := dial(host, "203.0.113.80:8080", 5*time.Second)
	if err != nil {
		t.Fatalf("host -> internet: %v", err)
	}
	if !strings.HasPrefix(seen, "198.51.100.10:") {
		t.Fatalf("internet server saw %q, want the box's WAN address 198.51.100.10", seen)
	}
	if n, o := counter(t, inet, "inet", "probe", "mss1356"), counter(t, inet, "inet", "probe", "mssother"); n != 1 || o != 0 {
		t.Fatalf("SYNs at the server: %d with MSS 1356, %d other; want 1 and 0", n, o)
	}
	if n := counter(t, box, "inet", nat.TableName, nat.CounterMSSClamped); n < 1 {
		t.Fatalf("box mss_clamped = %d", n)
	}

	// 4. A port forward reaches the LAN host; unsolicited traffic to any
	// other WAN port is dropped (no RST: the dial times out) and counted.
	listen(t, host, "0.0.0.0:22")
	seen, err = dial(inet, "198.51.100.10:2222", 5*time.Second)
	if err != nil || !strings.HasPrefix(seen, "198.51.100.1:") {
		t.Fatalf("internet -> port forward: %q, %v", seen, err)
	}
	before := counter(t, box, "inet", nat.TableName, nat.CounterWANDropped)
	if _, err := dial(inet, "198.51.100.10:2323", time.Second); err == nil || !isTimeout(err) {
		t.Fatalf("unsolicited dial to 2323: %v, want a timeout (silent drop)", err)
	}
	after := counter(t, box, "inet", nat.TableName, nat.CounterWANDropped)
	if after <= before {
		t.Fatalf("wan_in_dropped %d -> %d, want it to grow", before, after)
	}
	// ReadCounters (the API meant for the CLI) decodes the same count from a table
	// that also holds the default's ct helper object.
	if out, _ := box.Run("nft", "list", "table", "inet", nat.TableName); !strings.Contains(out, "ct helper pptp") {
		t.Fatalf("the default config has no pptp ct helper:\n%s", out)
	}
	var read []nat.Counter
	if err := box.Do(func() (err error) { read, err = nat.ReadCounters(); return err }); err != nil {
		t.Fatalf("ReadCounters: %v", err)
	}
	if i := slices.IndexFunc(read, func(c nat.Counter) bool { return c.Name == nat.CounterWANDropped }); i < 0 || read[i].Packets != uint64(after) {
		t.Fatalf("ReadCounters = %+v, want %s at %d packets", read, nat.CounterWANDropped, after)
	}

	// 4b. A VPN client through NAT. The test stands in for the PPTP
	// dataplane: it owns the pool's TUN device and writes the packets a
	// client at 10.79.97.10 would send.
	tun, err := box.OpenTun("pptp0")
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	for _, args := range [][]string{{"link", "set", "pptp0", "up"}, {"route", "add", "10.79.97.0/24", "dev", "pptp0"}} {
		if _, err := box.Run("ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	var udp net.PacketConn
	if err := inet.Do(func() error { udp, err = net.ListenPacket("udp4", "203.0.113.80:9000"); return err }); err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			udp.WriteTo([]byte(from.String()), from)
		}
	}()
	client := netip.MustParseAddrPort("10.79.97.10:5000")
	server := netip.MustParseAddrPort("203.0.113.80:9000")
	if _, err := tun.Write(udpPacket(client, server, []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	reply, err := readPacket(tun, 5*time.Second, func(p packet) bool { return p.proto == 17 && p.src == server })
	if err != nil {
		t.Fatalf("no UDP reply through NAT to the VPN client: %v", err)
	}
	if reply.dst != client || !strings.HasPrefix(string(reply.data), "198.51.100.10:") {
		t.Fatalf("VPN client got %q for %v; want the server to see 198.51.100.10", reply.data, reply.dst)
	}
	// The client's SYN (MSS 1460) reaches the server clamped, and the
	// SYN/ACK comes back clamped too.
	web := netip.MustParseAddrPort("203.0.113.80:8080")
	if _, err := tun.Write(tcpSYN(netip.MustParseAddrPort("10.79.97.10:40000"), web, 1460)); err != nil {
		t.Fatal(err)
	}
	synack, err := readPacket(tun, 5*time.Second, func(p packet) bool { return p.proto == 6 && p.src == web })
	if err != nil {
		t.Fatalf("no SYN/ACK for the VPN client: %v", err)
	}
	if synack.flags&0x12 != 0x12 || synack.mss != 1356 {
		t.Fatalf("VPN client got flags %#x MSS %d, want SYN/ACK with MSS 1356", synack.flags, synack.mss)
	}
	if n := counter(t, inet, "inet", "probe", "mss1356"); n != 2 {
		t.Fatalf("SYNs with MSS 1356 at the server = %d, want 2 (LAN host and VPN client)", n)
	}

	// Ping from the internet is answered, within the rate limit (a
	// burst of 20): 30 quick echoes lose some, 3 slow ones none.
	if out, err := inet.Run("ping", "-c", "3", "-i", "0.2", "-W", "1", "198.51.100.10"); err != nil {
		t.Fatalf("ping the WAN address: %v\n%s", err, out)
	}
	out, _ := inet.Run("ping", "-c", "30", "-i", "0.002", "-W", "1", "198.51.100.10")
	if m := regexp.MustCompile(`(\d+) received`).FindStringSubmatch(out); m == nil || m[1] == "30" || m[1] == "0" {
		t.Fatalf("a 30-echo burst should be cut by the rate limit (10/s, burst 20):\n%s", out)
	}

	// 5. A WAN address change (cable to a new ISP range) re-applies the rules.
	if err := wanWire.SetPlugged(false); err != nil {
		t.Fatal(err)
	}
	stopISP()
	stopISP = serveWANDHCP(t, inet, "198.51.100.30", "198.51.100.40")
	defer func() { stopISP() }()
	if err := wanWire.SetPlugged(true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "rules to follow the new WAN address", func() (bool, string) {
		tb := table()
		return strings.Contains(tb, "ip daddr 198.51.100.30 tcp dport 2222") && !strings.Contains(tb, "198.51.100.10"), boxLog.String() + tb
	})
	seen, err = dial(host, "203.0.113.80:8080", 5*time.Second)
	if err != nil || !strings.HasPrefix(seen, "198.51.100.30:") {
		t.Fatalf("after the WAN change the server saw %q, %v; want 198.51.100.30", seen, err)
	}

	// 6. A bad config on reload is refused and the rules stay; a good one applies.
	good := table()
	writeCfg(boxConfig(1356, "[[port_forward]]\nproto = \"tcp\"\nport = 80\nto = \"10.9.9.9:80\"\n"))
	cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the bad reload to be refused", func() (bool, string) {
		return strings.Contains(boxLog.String(), "port_forward.1.to"), boxLog.String()
	})
	// Counters may still move (a late SYN through the MSS clamp); the rules must not.
	counts := regexp.MustCompile(`packets \d+ bytes \d+`)
	rules := func(tb string) string { return counts.ReplaceAllString(tb, "packets - bytes -") }
	if got := table(); rules(got) != rules(good) {
		t.Fatalf("a refused reload changed the rules:\n%s\nwas:\n%s", got, good)
	}
	writeCfg(boxConfig(1300, ""))
	cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the good reload", func() (bool, string) {
		tb := table()
		return strings.Contains(tb, "maxseg size set 1300") && strings.Contains(tb, "198.51.100.30"), boxLog.String() + tb
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
