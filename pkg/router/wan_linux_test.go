package router

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/dhcp4c"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// serveDHCP runs a DHCP server for subnet/24 on iface in ns until the
// returned stop is called.
func serveDHCP(t *testing.T, ns *netnstest.NS, iface, subnet string, first, last int) (stop func()) {
	return serveDHCPLease(t, ns, iface, subnet, first, last, time.Hour)
}

func serveDHCPLease(t *testing.T, ns *netnstest.NS, iface, subnet string, first, last int, lease time.Duration) (stop func()) {
	t.Helper()
	pfx := netip.MustParsePrefix(subnet + ".0/24")
	srvAddr := netip.MustParseAddr(subnet + ".1")
	if _, err := ns.Run("ip", "addr", "replace", srvAddr.String()+"/24", "dev", iface); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Run("ip", "link", "set", iface, "up"); err != nil {
		t.Fatal(err)
	}
	s, err := dhcpd.New(dhcpd.Config{Iface: iface, ServerAddr: srvAddr, Prefix: pfx,
		RangeStart: netip.MustParseAddr(fmt.Sprintf("%s.%d", subnet, first)),
		RangeEnd:   netip.MustParseAddr(fmt.Sprintf("%s.%d", subnet, last)),
		LeaseTime:  lease, Router: srvAddr, DNS: []netip.Addr{srvAddr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := ns.Go(func() error { return s.Serve(ctx) })
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func waitLease(t *testing.T, ch <-chan dhcp4c.Lease, what string) dhcp4c.Lease {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("no lease: %s", what)
	}
	return dhcp4c.Lease{}
}

// runWANClient brings wan0 up in box and runs c there until the returned
// function, deferred by the caller, cancels ctx and reports how c ended.
func runWANClient(ctx context.Context, cancel context.CancelFunc, t *testing.T, box *netnstest.NS, c *dhcp4c.Client) (stop func()) {
	t.Helper()
	done := box.Go(func() error {
		if err := netcfg.LinkUp("wan0"); err != nil {
			return err
		}
		return c.Run(ctx)
	})
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestWANClientFollowsCable: the WAN client binds, installs address,
// default route and resolv.conf, and after the cable moves to another
// network (unplug, new server and subnet, plug) takes the new lease.
func TestWANClientFollowsCable(t *testing.T) {
	netnstest.Require(t, "ip")
	isp, box := netnstest.NewNS(t, "isp"), netnstest.NewNS(t, "box")
	wire := netnstest.NewWire(t, isp, "isp0", box, "wan0")
	stop := serveDHCP(t, isp, "isp0", "198.51.100", 10, 20)

	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	leases := make(chan dhcp4c.Lease, 4)
	ctx, cancel := context.WithCancel(context.Background())
	c := wanClient(slog.Default(), netcfg.WAN{Iface: "wan0", DHCP: true, Hostname: "pptpbox"}, resolv, func(netip.Addr) {})
	c.OnLease, c.Timeout = func(l dhcp4c.Lease) { leases <- l }, time.Second
	defer runWANClient(ctx, cancel, t, box, c)()

	l := waitLease(t, leases, "first bind")
	if l.Addr != netip.MustParsePrefix("198.51.100.10/24") || l.Router != netip.MustParseAddr("198.51.100.1") {
		t.Fatalf("lease %v", l)
	}
	out, err := box.Run("ip", "-4", "addr", "show", "wan0")
	if err != nil || !strings.Contains(out, "inet 198.51.100.10/24") {
		t.Fatalf("address not installed: %v\n%s", err, out)
	}
	out, err = box.Run("ip", "-4", "route", "show", "default")
	if err != nil || !strings.Contains(out, "default via 198.51.100.1 dev wan0") {
		t.Fatalf("default route not installed: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(resolv); err != nil || !strings.Contains(string(b), "nameserver 198.51.100.1\n") {
		t.Fatalf("resolv.conf: %v %q", err, b)
	}

	// Move the cable to another network.
	if err := wire.SetPlugged(false); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := isp.Run("ip", "addr", "flush", "dev", "isp0"); err != nil {
		t.Fatal(err)
	}
	stop = serveDHCP(t, isp, "isp0", "203.0.113", 50, 60)
	defer stop()
	if err := wire.SetPlugged(true); err != nil {
		t.Fatal(err)
	}
	l = waitLease(t, leases, "after replug")
	if l.Addr != netip.MustParsePrefix("203.0.113.50/24") {
		t.Fatalf("lease after replug %v", l)
	}
	out, _ = box.Run("ip", "-4", "addr", "show", "wan0")
	if strings.Contains(out, "198.51.100.10") || !strings.Contains(out, "203.0.113.50/24") {
		t.Fatalf("old address kept or new one missing:\n%s", out)
	}
}

// TestWANClientRenewsAndExpires: with a 4s lease the client renews at T1
// and keeps its address past the first expiry; once the server is gone the
// address is removed at expiry and the WAN address reported lost.
func TestWANClientRenewsAndExpires(t *testing.T) {
	netnstest.Require(t, "ip")
	isp, box := netnstest.NewNS(t, "isp"), netnstest.NewNS(t, "box")
	netnstest.NewWire(t, isp, "isp0", box, "wan0")
	stop := serveDHCPLease(t, isp, "isp0", "198.51.100", 10, 20, 4*time.Second)

	leases := make(chan dhcp4c.Lease, 4)
	lost := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	c := wanClient(slog.Default(), netcfg.WAN{Iface: "wan0", DHCP: true}, "", func(a netip.Addr) {
		if !a.IsValid() {
			lost <- struct{}{}
		}
	})
	c.OnLease, c.Timeout = func(l dhcp4c.Lease) { leases <- l }, 500*time.Millisecond
	defer runWANClient(ctx, cancel, t, box, c)()
	l := waitLease(t, leases, "bind")
	if l.Lease != 4*time.Second || l.Renew != 2*time.Second {
		t.Fatalf("lease times %v/%v", l.Lease, l.Renew)
	}
	time.Sleep(6 * time.Second) // past the first expiry: only renewals keep it
	if out, _ := box.Run("ip", "-4", "addr", "show", "wan0"); !strings.Contains(out, "198.51.100.10/24") {
		t.Fatalf("address lost although the server renews:\n%s", out)
	}
	select {
	case l := <-leases:
		t.Fatalf("a renewal of the same lease was reported as new: %v", l)
	case <-lost:
		t.Fatal("lease lost although the server renews")
	default:
	}
	stop()
	select {
	case <-lost:
	case <-time.After(15 * time.Second):
		t.Fatal("lease never expired after the server left")
	}
	if out, _ := box.Run("ip", "-4", "addr", "show", "wan0"); strings.Contains(out, "198.51.100.10") {
		t.Fatalf("expired address still installed:\n%s", out)
	}
}
