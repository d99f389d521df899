package firmware

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// The end-to-end bench, all inside one network namespace made by the test:
//
//	WAN host 203.0.113.1/24 on tap fwwan  <->  box wan 203.0.113.2/24 (static)
//	box lan 192.168.1.1/24 on tap fwblan  <->  bridge fwbr  <->  tap fwcli: client eth0
//
// The client takes its eth0 address from the box's LAN DHCP server, as an office PC does.
// Addresses: RFC 5737 TEST-NET-3 for the WAN, the product's default LAN for the LAN. Both
// exist only inside the namespace.
var (
	e2eWANHost = netip.MustParsePrefix("203.0.113.1/24")
	e2eWANBox  = netip.MustParsePrefix("203.0.113.2/24")
	e2eLANBox  = netip.MustParseAddr("192.168.1.1")
	e2eMAC     = "52:54:00:12:34:56" // the client's eth0 (vmtest's default)
	e2eUser    = "alice"
	e2ePass    = "firmware e2e secret 1"
	e2eEcho    = netip.AddrPortFrom(e2eWANHost.Addr(), 8080)
	// poolRE is the default config's pool, 10.79.97.10-200.
	poolRE = regexp.MustCompile(`^10\.79\.97\.([1-9][0-9]+)$`)
	// lanLeaseRE is the default config's LAN DHCP range, 192.168.1.100-199.
	lanLeaseRE = regexp.MustCompile(`^192\.168\.1\.1[0-9][0-9]$`)
)

// udhcpcScript is busybox udhcpc's event script: it applies the lease to eth0 (default route
// via the offered router) and writes what the server offered to /tmp/dhcp.lease.
const udhcpcScript = `#!/bin/sh
case "$1" in
bound|renew)
	ifconfig "$interface" "$ip" netmask "$subnet" up
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	printf 'ip=%s\nsubnet=%s\nrouter=%s\ndns=%s\nserverid=%s\nlease=%s\n' \
		"$ip" "$subnet" "$router" "$dns" "$serverid" "$lease" > /tmp/dhcp.lease
	;;
deconfig)
	ifconfig "$interface" 0.0.0.0 up
	;;
esac
`

// dhcpLease runs udhcpc on the client's eth0 against the box's LAN DHCP server and returns
// the offer's fields (ip, subnet, router, dns, serverid, lease).
func dhcpLease(ctx context.Context, t *testing.T, g *vmtest.Guest) map[string]string {
	t.Helper()
	if err := g.WriteFile(ctx, "/tmp/udhcpc.sh", []byte(udhcpcScript), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := g.MustRun(ctx, "ip link set eth0 up && timeout 60 udhcpc -i eth0 -f -q -n -t 10 -T 3 -s /tmp/udhcpc.sh >/tmp/udhcpc.log 2>&1; cat /tmp/udhcpc.log; cat /tmp/dhcp.lease")
	if err != nil {
		t.Fatalf("DHCP from the box's LAN: %v\n%s", err, out)
	}
	lease := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			lease[k] = strings.TrimSpace(v)
		}
	}
	return lease
}

// pppPackets is the client's ppp0 packet count (sent + received).
func pppPackets(ctx context.Context, t *testing.T, g *vmtest.Guest) int {
	t.Helper()
	out, err := g.MustRun(ctx, "cat /sys/class/net/ppp0/statistics/tx_packets /sys/class/net/ppp0/statistics/rx_packets")
	if err != nil {
		t.Fatal(err)
	}
	var tx, rx int
	if _, err := fmt.Sscan(out, &tx, &rx); err != nil {
		t.Fatalf("ppp0 statistics %q: %v", out, err)
	}
	return tx + rx
}

// sayHello sends one line from the client to the WAN host's server and returns what the
// host saw and what the client read back.
func sayHello(ctx context.Context, t *testing.T, g *vmtest.Guest, srv *wanServer, hello string) (wanConn, string) {
	t.Helper()
	out, err := g.MustRun(ctx, fmt.Sprintf("echo '%s' | timeout 30 nc %s %d", hello, e2eEcho.Addr(), e2eEcho.Port()))
	if err != nil {
		t.Fatalf("client -> WAN host TCP through the box: %v\n%s", err, out)
	}
	select {
	case conn := <-srv.seen:
		t.Logf("WAN host saw %s say %q; the client read %q", conn.from, conn.line, strings.TrimSpace(out))
		if conn.line != hello {
			t.Errorf("WAN host read %q, want %q", conn.line, hello)
		}
		return conn, strings.TrimSpace(out)
	case <-time.After(10 * time.Second):
		t.Fatal("the WAN host saw no connection")
	}
	return wanConn{}, ""
}

// e2eConfig is the embedded default with the WAN made static (a host we control stands in
// for the ISP) and one user: what an operator writes on the CONFIG partition of a fresh box.
func e2eConfig(t *testing.T) []byte {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dhcpWAN := "mode = \"dhcp\"\n"
	if strings.Count(string(def), dhcpWAN) != 1 {
		t.Fatalf("the default config no longer has exactly one %q line (in [wan]); update the test", dhcpWAN)
	}
	static := fmt.Sprintf("mode = \"static\"\naddress = %q\ngateway = %q\ndns = [%q]\n",
		e2eWANBox, e2eWANHost.Addr(), e2eWANHost.Addr())
	cfg := strings.Replace(string(def), dhcpWAN, static, 1)
	cfg += fmt.Sprintf("\n[[user]]\nname = %q\npassword = %q\nip = \"*\"\n", e2eUser, e2ePass)
	return []byte(cfg)
}

// wanServer accepts TCP connections on the WAN host inside ns and reports, for each, the
// source address it saw and the line the peer sent; it answers with that source address.
type wanServer struct {
	ln   net.Listener
	seen chan wanConn
}

type wanConn struct {
	from netip.AddrPort
	line string
}

func startWANServer(t *testing.T, ns *netns.NS, at netip.AddrPort) *wanServer {
	t.Helper()
	var ln net.Listener
	// The socket is created inside the namespace and stays there.
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp4", at.String())
		return err
	}); err != nil {
		t.Fatalf("listen on the WAN host %s: %v", at, err)
	}
	s := &wanServer{ln: ln, seen: make(chan wanConn, 4)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
				fmt.Fprintf(c, "you are %s\n", from.Addr().Unmap())
				s.seen <- wanConn{from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), line: strings.TrimSpace(line)}
			}()
		}
	}()
	return s
}

// TestFirmwareRealClient boots the qemu-amd64 image from its disk, with a config on its
// CONFIG partition, and dials it from the LAN side with Debian's pptp-linux + pppd
// (MS-CHAPv2, MPPE-128); the client then reaches a host on the WAN side through the tunnel
// and the box's NAT, and the host sees the box's WAN address. Then `upgrade FILE` on the
// console installs the second build (PPTPBOX_OUT_NEXT) into slot B; after the reboot and
// the trial, committed, the new version serves the same client the same way.
func TestFirmwareRealClient(t *testing.T) {
	gate(t)
	if os.Geteuid() != 0 {
		t.Fatal("the firmware end-to-end test needs root (network namespace, tap devices)")
	}
	need(t, "qemu-system-x86_64", "ip", "sgdisk", "mcopy", "mtype")
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	lg := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	guestImage, err := vmtest.BuildImage(ctx, vmtest.FlavourClient, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}

	ns := e2eBench(ctx, t, "fwe2e", "fw")
	srv := startWANServer(t, ns, e2eEcho)

	// The box: the image's own boot path (SeaBIOS, GRUB, slot A), with the operator's
	// config written on its CONFIG partition the way a PC would.
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	cfg := e2eConfig(t)
	writeConfigFile(t, disk, "pptpbox.toml", cfg)
	// After the first dial the box is upgraded from the console to the second build
	// (PPTPBOX_OUT_NEXT), on a stick named so that the boot does not apply it; a short
	// trial hold.
	next := nextBuild(t)
	vNext := strings.TrimSpace(string(readFile(t, filepath.Join(next, "qemu-amd64.version"))))
	usb := stick(t, map[string][]byte{"next.bin": buildUpdate(t, signingKey(t), "qemu-amd64", next, "", nil)})
	setGrubEnv(t, disk, strings.TrimSpace(readGrubEnv(t, disk)["pptpbox_args"]+" pptpbox.trial=5s"))
	box := startVMWith(t, 10*time.Minute, func(name string, args ...string) *exec.Cmd {
		return ns.Command(context.Background(), name, args...)
	}, "qemu-system-x86_64", append(append(diskBootArgs(disk), boxTaps("fw", "52:54:00:b0:00:01", "52:54:00:b0:00:02")...),
		"-device", "qemu-xhci", "-drive", "if=none,id=usb,format=raw,file="+usb,
		"-device", "usb-storage,drive=usb,removable=on")...)

	// The client guest boots meanwhile (both are TCG; the machine has two cores).
	g := bootClient(ctx, t, ns, guestImage, "fwcli", lg)
	clientBoot := g.BootTime()

	ready, _ := box.waitFor(readyRE, 0, bootLimit)
	boxBoot := time.Since(box.start)
	recordBoot(t, box, ready)
	if got, want := ready[2], "wan:"+e2eWANBox.String(); got != want {
		t.Errorf("ready line wan=%s, want %s", got, want)
	}
	if got, want := ready[3], "lan:192.168.1.1/24"; got != want {
		t.Errorf("ready line lan=%s, want %s", got, want)
	}
	if ready[5] != "flash" {
		t.Errorf("config source %s, want flash (the CONFIG partition)", ready[5])
	}

	// An office PC on the LAN: an address from the box's DHCP server, then the internet
	// through the LAN masquerade.
	lease := dhcpLease(ctx, t, g)
	t.Logf("LAN DHCP lease: %v", lease)
	for _, ch := range []struct{ key, want string }{
		{"subnet", "255.255.255.0"}, {"router", e2eLANBox.String()}, {"serverid", e2eLANBox.String()},
		{"dns", "8.8.8.8 8.8.4.4"}, // lan.dhcp.dns empty: pptp.dns
	} {
		if lease[ch.key] != ch.want {
			t.Errorf("DHCP %s = %q, want %q", ch.key, lease[ch.key], ch.want)
		}
	}
	if !lanLeaseRE.MatchString(lease["ip"]) {
		t.Fatalf("DHCP address %q is not in 192.168.1.100-199", lease["ip"])
	}
	if conn, _ := sayHello(ctx, t, g, srv, "hello from the LAN"); conn.from.Addr() != e2eWANBox.Addr() {
		t.Errorf("LAN host -> WAN: the WAN host saw source %s, want the box's WAN address %s", conn.from.Addr(), e2eWANBox.Addr())
	}

	c := rig.Client{Peer: "box", Server: e2eLANBox, User: e2eUser, Password: e2ePass}
	if err := rig.Configure(ctx, g, c); err != nil {
		t.Fatal(err)
	}
	dialStart := time.Now()
	res, err := rig.Dial(ctx, g, c)
	if err != nil {
		t.Fatal(err)
	}
	dial := time.Since(dialStart)
	t.Logf("pppd log (client guest):\n%s", res.Log)
	if res.Status != 0 {
		t.Fatalf("pppd exited %d", res.Status)
	}
	for _, want := range []string{
		"CHAP authentication succeeded",
		"MPPE 128-bit stateless compression enabled",
	} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("pppd did not print %q", want)
		}
	}
	if !poolRE.MatchString(res.LocalIP.String()) {
		t.Errorf("client address %v is not from the pool 10.79.97.10-200", res.LocalIP)
	}
	if res.RemoteIP != netip.MustParseAddr("10.79.97.1") {
		t.Errorf("remote address %v, want the box's local_ip 10.79.97.1", res.RemoteIP)
	}

	// The WAN is reachable only through the tunnel: the client has no gateway on eth0.
	if out, err := g.MustRun(ctx, "ip route add "+e2eWANHost.Masked().String()+" dev ppp0 && ip route get "+e2eWANHost.Addr().String()); err != nil || !strings.Contains(out, "dev ppp0") {
		t.Fatalf("route to the WAN through ppp0: %v\n%s", err, out)
	}
	if out, err := g.MustRun(ctx, "ping -c 3 -W 5 "+e2eWANHost.Addr().String()); err != nil {
		t.Errorf("client -> WAN host ping through the box: %v\n%s", err, out)
	}
	before := pppPackets(ctx, t, g)
	conn, answer := sayHello(ctx, t, g, srv, "hello from "+res.LocalIP.String())
	// A TCP exchange is at least SYN, SYN-ACK, data, its answer and the FINs: the
	// connection went through the tunnel, not out of eth0.
	if n := pppPackets(ctx, t, g) - before; n < 6 {
		t.Errorf("ppp0 carried %d packets during the exchange; the connection did not use the tunnel", n)
	}
	if conn.from.Addr() != e2eWANBox.Addr() {
		t.Errorf("WAN host saw source %s, want the box's WAN address %s (masquerade)", conn.from.Addr(), e2eWANBox.Addr())
	}
	if want := "you are " + e2eWANBox.Addr().String(); answer != want {
		t.Errorf("client read %q, want %q", answer, want)
	}

	if _, err := rig.Hangup(ctx, g, c); err != nil {
		t.Error(err)
	}

	// The upgrade: `upgrade FILE` on the console, the reboot into slot B, its trial with
	// the client's LAN up, committed; then the new version serves the same client.
	box.send("upgrade /mnt/usb/next.bin")
	_, at := box.waitFor(regexp.MustCompile(`upgrade: slot B holds `+regexp.QuoteMeta(vNext)+` now; rebooting to try it`), 0, bootLimit)
	_, at = box.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, bootLimit)
	m, at := box.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vNext || m[7] != "B" {
		t.Fatalf("ready line after the upgrade: %s", m[0])
	}
	_, _ = box.waitFor(regexp.MustCompile(`pptpbox upgrade: slot B \(`+regexp.QuoteMeta(vNext)+`\) from console: good .*; slot B is committed`), at, bootLimit)
	res, err = rig.Dial(ctx, g, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 || !strings.Contains(res.Log, "MPPE 128-bit stateless compression enabled") {
		t.Fatalf("dial after the upgrade: pppd exited %d:\n%s", res.Status, res.Log)
	}
	if out, err := g.MustRun(ctx, "ip route add "+e2eWANHost.Masked().String()+" dev ppp0"); err != nil {
		t.Fatalf("route to the WAN through ppp0: %v\n%s", err, out)
	}
	if _, answer := sayHello(ctx, t, g, srv, "hello after the upgrade"); answer != "you are "+e2eWANBox.Addr().String() {
		t.Errorf("after the upgrade: client read %q through the tunnel", answer)
	}
	t.Logf("after the upgrade to %s (slot B): the client dialled (%s) and reached the WAN host", vNext, res.LocalIP)
	if _, err := rig.Hangup(ctx, g, c); err != nil {
		t.Error(err)
	}

	// The LAN lease is kept on the CONFIG partition (the default's lease_file): power the box
	// off cleanly and read it from the image as a PC would.
	box.confirm("poweroff")
	box.waitFor(regexp.MustCompile(`pptpbox: poweroff`), 0, 60*time.Second)
	box.waitExit(30 * time.Second)
	leases := string(readConfigFile(t, disk, "lan-leases.json"))
	if !strings.Contains(leases, `"`+e2eMAC+`"`) || !strings.Contains(leases, `"`+lease["ip"]+`"`) {
		t.Errorf("CONFIG:/lan-leases.json does not hold the client's lease (%s %s):\n%s", e2eMAC, lease["ip"], leases)
	}
	total := time.Since(testStart)
	t.Logf("timings: box ready %s (from QEMU start, SeaBIOS), client guest %s, dial %s, whole test %s",
		boxBoot.Round(100*time.Millisecond), clientBoot.Round(100*time.Millisecond),
		dial.Round(100*time.Millisecond), total.Round(100*time.Millisecond))
	if f, err := os.OpenFile(filepath.Join(outDir(), "boot-times.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprintf(f, "%s/whole\t%.1fs wall\tdial %.1fs\t%s\n", t.Name(), total.Seconds(), dial.Seconds(), time.Now().UTC().Format(time.RFC3339))
		f.Close()
	}
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// e2eBench makes the end-to-end bench's namespace (removed when the test ends) with its taps,
// named with prefix: prefix+"wan" (the WAN host's side, e2eWANHost), prefix+"blan" (the box's
// LAN) bridged in prefix+"br" with prefix+"cli" (the client guest's).
func e2eBench(ctx context.Context, t *testing.T, name, prefix string) *netns.NS {
	t.Helper()
	ns, err := netns.New(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("namespace cleanup: %v", err)
		}
	})
	for _, step := range []error{
		ns.AddTap(ctx, prefix+"wan", e2eWANHost),
		ns.AddTap(ctx, prefix+"blan", netip.Prefix{}),
		ns.AddTap(ctx, prefix+"cli", netip.Prefix{}),
		ns.AddBridge(ctx, prefix+"br", netip.Prefix{}, prefix+"blan", prefix+"cli"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return ns
}

// boxTaps are QEMU's arguments for the box's NICs on the bench's taps (e2eBench's prefix):
// the WAN first (the board profiles make the first virtio NIC the WAN), then the LAN.
func boxTaps(prefix, wanMAC, lanMAC string) []string {
	return []string{
		"-netdev", "tap,id=wan,ifname=" + prefix + "wan,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=wan,mac=" + wanMAC,
		"-netdev", "tap,id=lan,ifname=" + prefix + "blan,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=lan,mac=" + lanMAC,
	}
}

// bootClient boots the Debian client guest on the bench's tap; it is closed (its console's
// tail logged if the test failed) when the test ends.
func bootClient(ctx context.Context, t *testing.T, ns *netns.NS, image, tap string, lg *slog.Logger) *vmtest.Guest {
	t.Helper()
	g, err := vmtest.Boot(ctx, vmtest.Config{Image: image, NS: ns, Tap: tap, MAC: e2eMAC,
		Name: "client", Dir: t.TempDir(), Log: lg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Close()
		if t.Failed() {
			t.Logf("client console tail:\n%s", lastLines(g.Console(), 30))
		}
	})
	return g
}

// diskBootArgs are QEMU's arguments for booting the image disk as a PC does (SeaBIOS, GRUB),
// with a watchdog; the caller adds the network.
func diskBootArgs(disk string) []string {
	return []string{"-M", "pc", "-m", "512", "-drive", "file=" + disk + ",format=raw,if=virtio", "-device", "i6300esb"}
}
