package firmware

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/clock/ntptest"
	"github.com/pptpbox/pptpbox/qemu/netns"
)

// TestClockFromWAN: the box's boxd (started by the init with -set-clock) sets the clock from
// an SNTP server on its WAN (the test's, three hours ahead, in a namespace: nothing leaves
// the machine): it steps the clock, show system says so and shows the new time, and the RTC
// was written: after a reboot the kernel starts from the new time before any sync.
func TestClockFromWAN(t *testing.T) {
	gate(t)
	if os.Geteuid() != 0 {
		t.Fatal("the clock test needs root (network namespace, tap device)")
	}
	need(t, "qemu-system-x86_64", "ip", "sgdisk", "mcopy")
	const ahead = 3 * time.Hour
	wanHost, wanBox := netip.MustParsePrefix("203.0.113.1/24"), netip.MustParsePrefix("203.0.113.2/24")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	ns, err := netns.New("fwclock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("namespace cleanup: %v", err)
		}
	})
	if err := ns.AddTap(ctx, "clkwan", wanHost); err != nil {
		t.Fatal(err)
	}
	var ntp *ntptest.Server
	if err := ns.Do(func() (err error) {
		ntp, err = ntptest.StartAt(netip.AddrPortFrom(wanHost.Addr(), 123).String(), ahead)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ntp.Close()

	def, err := os.ReadFile(filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(def)
	for _, r := range [][2]string{
		{"mode = \"dhcp\"\n", fmt.Sprintf("mode = \"static\"\naddress = %q\ngateway = %q\n", wanBox, wanHost.Addr())},
		{"servers = [\"pool.ntp.org\"]\n", fmt.Sprintf("servers = [%q]\n", wanHost.Addr().String())},
	} {
		if strings.Count(cfg, r[0]) != 1 {
			t.Fatalf("the default config no longer has exactly one %q line; update the test", r[0])
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	writeConfigFile(t, disk, "pptpbox.toml", []byte(cfg))
	v := startVMWith(t, 4*time.Minute, func(name string, args ...string) *exec.Cmd {
		return ns.Command(context.Background(), name, args...)
	}, "qemu-system-x86_64", "-M", "pc", "-m", "512",
		"-drive", "file="+disk+",format=raw,if=virtio", "-device", "i6300esb",
		"-netdev", "tap,id=wan,ifname=clkwan,script=no,downscript=no", "-device", "virtio-net-pci,netdev=wan",
		"-netdev", "user,id=lan,restrict=on", "-device", "virtio-net-pci,netdev=lan")

	_, next := v.waitFor(readyRE, 0, bootLimit)
	// The console shows only warnings once its prompt is open: ask show system until the
	// clock is synced.
	syncedRE := regexp.MustCompile(`clock +synced to 203\.0\.113\.1 stratum 2, offset \+(2h59m|3h0m)\S* \(stepped\)`)
	var tm []string
	for deadline := time.Now().Add(90 * time.Second); ; {
		asked := next
		v.send("show system")
		m, n, err := v.con.waitFor(regexp.MustCompile(`time +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC`), asked, 30*time.Second)
		if err != nil {
			t.Fatalf("show system: %v\n%s", err, v.con.tail(40))
		}
		tm = m
		if _, n2, err := v.con.waitFor(syncedRE, asked, 3*time.Second); err == nil {
			next = max(n, n2)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clock never synced:\n%s", v.con.tail(40))
		}
		next = n
	}
	if got, err := time.Parse(time.DateTime, tm[1]); err != nil || (got.Sub(time.Now().Add(ahead))).Abs() > time.Minute {
		t.Errorf("show system's time %s, want about %s", tm[1], time.Now().Add(ahead).UTC().Format(time.DateTime))
	}
	if ntp.Requests() == 0 {
		t.Error("the SNTP server was never asked")
	}

	// The RTC: the next boot starts three hours ahead before boxd asks anyone.
	ntp.Set(-ahead, 0, 0) // a kiss-o'-death from now on: no sync can move the clock
	v.confirm("reboot")
	_, next = v.waitFor(regexp.MustCompile(`pptpbox: reboot`), next, 60*time.Second)
	st, _ := v.waitFor(regexp.MustCompile(`boxd: time=(\S+) level=INFO msg="boxd starting"`), next, bootLimit)
	if got, err := time.Parse(time.RFC3339Nano, st[1]); err != nil || (got.Sub(time.Now().Add(ahead))).Abs() > 2*time.Minute {
		t.Errorf("the second boot's boxd started at %s, want about %s (the RTC written back)", st[1], time.Now().Add(ahead).UTC().Format(time.RFC3339))
	}
}
