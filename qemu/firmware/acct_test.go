package firmware

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// TestAccountingAcrossReboot is issue 11's "accounting that loses nothing" with a firmware
// reboot in the outage: the box's [radius] server (on the WAN host, the test's namespace)
// is not running; a Debian pptp-linux client logs in (fallback_local: alice from [[user]]),
// pings the WAN host through the tunnel and hangs up; the box reboots from its console;
// only then, at least 60 s after the login, FreeRADIUS starts on the WAN host. Its detail
// file must get alice's Start and Stop (same Acct-Session-Id), both with an Acct-Delay-Time
// that covers the outage since the event, the Stop with the octets of the client's ppp0
// counters since the link came up (IP bytes); after a clean poweroff the spool
// (CONFIG:/acct) is empty.
func TestAccountingAcrossReboot(t *testing.T) {
	gate(t)
	if os.Geteuid() != 0 {
		t.Fatal("the accounting test needs root (network namespace, tap devices)")
	}
	need(t, "qemu-system-x86_64", "ip", "sgdisk", "mcopy", "mdir")
	radiustest.Require(t)
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lg := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	guestImage, err := vmtest.BuildImage(ctx, vmtest.FlavourClient, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ns := e2eBench(ctx, t, "fwacct", "ac")
	inNS := func(name string, args ...string) *exec.Cmd {
		return ns.Command(context.Background(), name, args...)
	}

	const secret = "acct across reboot"
	authPort, acctPort := 1812, 1813 // the namespace's own: free
	cfg := string(e2eConfig(t)) + fmt.Sprintf(`
[radius]
timeout = "1s"
retries = 1
fallback_local = true
[[radius.server]]
address = "%s"
secret = %q
acct_port = %d
`, netip.AddrPortFrom(e2eWANHost.Addr(), uint16(authPort)), secret, acctPort)
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	writeConfigFile(t, disk, "pptpbox.toml", []byte(cfg))
	box := startVMWith(t, 9*time.Minute, inNS, "qemu-system-x86_64",
		append(diskBootArgs(disk), boxTaps("ac", "52:54:00:b0:00:11", "52:54:00:b0:00:12")...)...)
	g := bootClient(ctx, t, ns, guestImage, "accli", lg)
	_, next := box.waitFor(readyRE, 0, bootLimit)
	if lease := dhcpLease(ctx, t, g); !lanLeaseRE.MatchString(lease["ip"]) {
		t.Fatalf("DHCP address %q is not in 192.168.1.100-199", lease["ip"])
	}

	// The outage starts before the login: no accounting server has answered anything yet.
	outage := time.Now()
	c := rig.Client{Peer: "box", Server: e2eLANBox, User: e2eUser, Password: e2ePass}
	if err := rig.Configure(ctx, g, c); err != nil {
		t.Fatal(err)
	}
	res, err := rig.Dial(ctx, g, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 {
		t.Fatalf("pppd exited %d:\n%s", res.Status, res.Log)
	}
	// ppp0's byte counters also count the NCP frames pppd sends and reads through the unit
	// (IPCP, CCP: all done once the link is up), which the box does not count as traffic:
	// the session's octets are what ppp0 counted from now on.
	tx0, rx0 := ppp0Bytes(ctx, t, g)
	if out, err := g.MustRun(ctx, "ip route add "+e2eWANHost.Masked().String()+" dev ppp0 && ping -c 5 -s 400 -W 5 "+e2eWANHost.Addr().String()); err != nil {
		t.Fatalf("client -> WAN host ping through the tunnel: %v\n%s", err, out)
	}
	tx1, rx1 := ppp0Bytes(ctx, t, g)
	tx, rx := tx1-tx0, rx1-rx0
	t.Logf("client ppp0: %d bytes sent, %d received after the link came up (%d and %d before: IPCP, CCP)", tx, rx, tx0, rx0)
	if _, err := rig.Hangup(ctx, g, c); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	// Both records wait in boxd's accounting queue (the Stop is made at the hangup).
	next = acctQueue(t, box, next, 2, -1)

	// The reboot, still in the outage: the Start and Stop cross it on the CONFIG partition.
	box.confirm("reboot")
	_, next = box.waitFor(regexp.MustCompile(`pptpbox: reboot`), next, 60*time.Second)
	_, next = box.waitFor(readyRE, next, bootLimit)
	for time.Since(outage) < 60*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	fr := radiustest.Start(t, radiustest.Options{Secret: secret, AuthPort: authPort, AcctPort: acctPort,
		Listen: e2eWANHost.Addr().String(), Clients: []string{e2eWANBox.Addr().String()}, Command: inNS})
	up := time.Now()
	t.Logf("FreeRADIUS up after an outage of %s (%s after the hangup, the reboot between)",
		up.Sub(outage).Round(time.Second), up.Sub(ended).Round(time.Second))

	var start, stop string
	radiustest.WaitFor(t, 90*time.Second, "alice's Start and Stop in the detail file", func() bool {
		start, stop = "", ""
		for _, r := range fr.Records() {
			if !strings.Contains(r, `User-Name = "`+e2eUser+`"`) {
				continue
			}
			switch {
			case strings.Contains(r, "Acct-Status-Type = Start"):
				start = r
			case strings.Contains(r, "Acct-Status-Type = Stop"):
				stop = r
			}
		}
		return start != "" && stop != ""
	})
	attr := func(r, name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + ` = "?([^"\n]*)"?$`).FindStringSubmatch(r)
		if m == nil {
			return ""
		}
		return m[1]
	}
	t.Logf("Stop, sent after the reboot:\n%s", stop)
	// Each record's delay counts from its event to its sending: at least the time from the
	// hangup (the later event) to FreeRADIUS's start, less a little for clock granularity.
	minDelay := int(up.Sub(ended).Seconds()) - 2
	for _, r := range []struct{ name, rec string }{{"Start", start}, {"Stop", stop}} {
		if d, err := strconv.Atoi(attr(r.rec, "Acct-Delay-Time")); err != nil || d < minDelay {
			t.Errorf("%s: Acct-Delay-Time %q, want at least %d s:\n%s", r.name, attr(r.rec, "Acct-Delay-Time"), minDelay, r.rec)
		}
		if attr(r.rec, "Event-Timestamp") == "" {
			t.Errorf("%s: no Event-Timestamp:\n%s", r.name, r.rec)
		}
	}
	if id := attr(start, "Acct-Session-Id"); id == "" || id != attr(stop, "Acct-Session-Id") {
		t.Errorf("Start's Acct-Session-Id %q, Stop's %q", id, attr(stop, "Acct-Session-Id"))
	}
	// Input is what the client sent, output what it received.
	for _, o := range []struct {
		key  string
		want int
	}{{"Acct-Input-Octets", tx}, {"Acct-Output-Octets", rx}} {
		if got := attr(stop, o.key); got != strconv.Itoa(o.want) {
			t.Errorf("Stop's %s = %q, want %d (the client's ppp0)", o.key, got, o.want)
		}
	}
	if a := attr(stop, "Acct-Authentic"); a != "Local" {
		t.Errorf("Acct-Authentic %q, want Local (fallback_local)", a)
	}

	// Answered records leave the queue and the spool: after a clean poweroff, CONFIG:/acct
	// is empty.
	next = acctQueue(t, box, next, 0, 0)
	box.confirm("poweroff")
	box.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 60*time.Second)
	box.waitExit(30 * time.Second)
	var left []string
	for _, l := range strings.Split(string(mtools(t, "mdir", "-b", "-i", configPart(t, disk), "::/acct")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasSuffix(l, "/.") && !strings.HasSuffix(l, "/..") {
			left = append(left, l)
		}
	}
	if len(left) != 0 {
		t.Errorf("CONFIG:/acct after the server answered: %v, want empty", left)
	}
	if t.Failed() {
		t.Logf("detail:\n%s", fr.Detail())
	}
	t.Logf("whole test %s", time.Since(testStart).Round(100*time.Millisecond))
}

var (
	acctQueuedRE  = regexp.MustCompile(`^\s*acct_queued\s+(\d+)\s*$`)
	acctSpooledRE = regexp.MustCompile(`^\s*acct_spooled\s+(\d+)\s*$`)
)

// acctQueue asks the console's show radius until its counters say queued records in boxd's
// accounting queue and spooled in its spool (-1: any); it returns the next line index.
func acctQueue(t *testing.T, v *vm, next, queued, spooled int) int {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; {
		asked := next
		v.send("show radius")
		q, n, err := v.con.waitFor(acctQueuedRE, asked, 30*time.Second)
		if err != nil {
			t.Fatalf("show radius: %v\n%s", err, v.con.tail(40))
		}
		s, n2, err := v.con.waitFor(acctSpooledRE, asked, 5*time.Second)
		if err != nil {
			t.Fatalf("show radius: %v\n%s", err, v.con.tail(40))
		}
		next = max(n, n2)
		if q[1] == strconv.Itoa(queued) && (spooled < 0 || s[1] == strconv.Itoa(spooled)) {
			return next
		}
		if time.Now().After(deadline) {
			t.Fatalf("show radius: acct_queued %s acct_spooled %s, want %d and %d:\n%s", q[1], s[1], queued, spooled, v.con.tail(40))
		}
		time.Sleep(time.Second)
	}
}

// ppp0Bytes is the client's ppp0 byte counters (sent, received).
func ppp0Bytes(ctx context.Context, t *testing.T, g *vmtest.Guest) (tx, rx int) {
	t.Helper()
	out, err := g.MustRun(ctx, "cat /sys/class/net/ppp0/statistics/tx_bytes /sys/class/net/ppp0/statistics/rx_bytes")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(out, &tx, &rx); err != nil {
		t.Fatalf("ppp0 statistics %q: %v", out, err)
	}
	return tx, rx
}
