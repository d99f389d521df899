package e2e

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// startPPTPD starts poptop pptpd (+ pppd) in the server guest
// (rig.StartPPTPD); setup runs in the guest first. The guest's pppd log and
// messages are logged when t fails.
func startPPTPD(ctx context.Context, t *testing.T, server *vmtest.Guest, setup string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _ := server.Run(context.Background(), rig.PPTPDLogs)
			t.Logf("pptpd guest logs:\n%s", out)
		}
	})
	if err := rig.StartPPTPD(ctx, server, setup); err != nil {
		t.Fatal(err)
	}
}

// TestReferencePPTPD proves the rig independently of boxd: the same client
// guest dials poptop pptpd (+ pppd) in a second guest on a bridge in the
// namespace, and must see what a working server gives it (MS-CHAPv2,
// MPPE-128, a pool address, DNS, ping). When a boxd scenario fails and this
// passes, the fault is in boxd, not in the bench.
func TestReferencePPTPD(t *testing.T) {
	vmtest.Require(t)
	start := time.Now()
	defer func() { t.Logf("e2e: TestReferencePPTPD took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(logWriter{t}, nil))

	images := map[string]string{}
	for _, f := range []string{vmtest.FlavourClient, vmtest.FlavourServer} {
		img, err := vmtest.BuildImage(ctx, f, logWriter{t})
		if err != nil {
			t.Fatal(err)
		}
		images[f] = img
	}
	ns, err := netns.New("pptpbox-ref")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("netns close: %v", err)
		}
	})
	for _, tap := range []string{"tap0", "tap1"} {
		if err := ns.AddTap(ctx, tap, netip.Prefix{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ns.AddBridge(ctx, "br0", netip.MustParsePrefix("192.0.2.1/24"), "tap0", "tap1"); err != nil {
		t.Fatal(err)
	}
	serverAddr := netip.MustParseAddr("192.0.2.3")
	dir := t.TempDir()
	specs := []vmtest.Config{
		{Image: images[vmtest.FlavourClient], NS: ns, Tap: "tap0", Name: "client", MAC: "52:54:00:00:02:02",
			Addr: netip.PrefixFrom(rig.GuestAddr, 24), Dir: dir, Log: log},
		{Image: images[vmtest.FlavourServer], NS: ns, Tap: "tap1", Name: "pptpd", MAC: "52:54:00:00:02:03",
			Addr: netip.PrefixFrom(serverAddr, 24), Dir: dir, Log: log},
	}
	// Boot both at once: each boot is mostly TCG CPU time, and there are two cores.
	guests := bootAll(ctx, t, ns, specs)
	client, server := guests[0], guests[1]
	startPPTPD(ctx, t, server, "")

	c := rig.Client{Server: serverAddr, User: rig.User, Password: rig.Password}
	if err := rig.Configure(ctx, client, c); err != nil {
		t.Fatal(err)
	}
	res, err := rig.Dial(ctx, client, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("client pppd log:\n%s", res.Log)
	if res.Status != 0 {
		t.Fatalf("pppd exited %d against pptpd", res.Status)
	}
	mustContain(t, "client pppd", res.Log, "<auth chap MS-v2>", "CHAP authentication succeeded",
		"MPPE 128-bit stateless compression enabled", "primary   DNS address 8.8.8.8", "secondary DNS address 8.8.4.4")
	if !strings.HasPrefix(res.LocalIP.String(), "10.79.97.") || res.RemoteIP != rig.LocalIP {
		t.Errorf("addresses: local %v remote %v", res.LocalIP, res.RemoteIP)
	}
	if out, err := client.MustRun(ctx, "ping -c 3 -W 5 "+rig.LocalIP.String()); err != nil {
		t.Errorf("ping through pptpd's tunnel: %v\n%s", err, out)
	}
	if _, err := rig.Hangup(ctx, client, c); err != nil {
		t.Error(err)
	}
}
