package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// pptpdIPUp routes the box's LAN through each pppd link that comes up
// (pppd runs /etc/ppp/ip-up with the interface first): the server half of
// a site-to-site link in the seed's pppd.
const pptpdIPUp = `#!/bin/sh
ip route replace 10.10.0.0/24 dev "$1"
`

// TestDialOutToPPTPD: boxd dials Debian's pptpd + pppd (the reference
// server guest) with [[pptp.dial]]: MS-CHAPv2 and MPPE-128, the server's
// subnet routed through the tunnel, traffic both ways between the box's
// LAN (10.10.0.0/24) and the server's (10.20.0.1 in the guest); pptpd and
// pppd killed and started again, the tunnel comes back by itself.
func TestDialOutToPPTPD(t *testing.T) {
	vmtest.Require(t)
	start := time.Now()
	defer func() { t.Logf("e2e: TestDialOutToPPTPD took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(logWriter{t}, nil))
	img, err := vmtest.BuildImage(ctx, vmtest.FlavourServer, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New("pptpbox-dial")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("netns close: %v", err)
		}
	})
	if err := ns.AddTap(ctx, "tap0", netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	if err := ns.AddBridge(ctx, "br0", netip.MustParsePrefix("192.0.2.1/24"), "tap0"); err != nil {
		t.Fatal(err)
	}
	// The box's LAN address (on lo: the rig's kernel has no dummy links).
	for _, args := range [][]string{{"addr", "add", "10.10.0.1/24", "dev", "lo"}, {"link", "set", "lo", "up"}} {
		if out, err := ns.IP(ctx, args...); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	dir := t.TempDir()
	server := bootAll(ctx, t, ns, []vmtest.Config{{Image: img, NS: ns, Tap: "tap0", Name: "pptpd", MAC: "52:54:00:00:02:03",
		Addr: netip.MustParsePrefix("192.0.2.3/24"), Dir: dir, Log: log}})[0]
	if err := server.WriteFile(ctx, "/etc/ppp/ip-up", []byte(pptpdIPUp), 0o755); err != nil {
		t.Fatal(err)
	}
	startPPTPD(ctx, t, server, "ip addr add 10.20.0.1/32 dev lo")

	cfg := filepath.Join(dir, "pptpbox.toml")
	if err := os.WriteFile(cfg, []byte(`
[log]
level = "debug"
[pptp]
enabled = false
[[pptp.dial]]
name = "ref"
server = "192.0.2.3"
user = "test"
password = "test.test"
routes = ["10.20.0.0/24"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "boxd.sock")
	out, err := os.Create(filepath.Join(dir, "boxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	boxd := ns.Command(ctx, boxdBinary(t, dir), "-config", cfg, "-control", sock)
	boxd.Stdout, boxd.Stderr = out, out
	if err := boxd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		boxd.Process.Kill()
		boxd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("boxd:\n%s", b)
		}
	})
	api := control.NewClient(sock)
	waitUp := func(d time.Duration) control.DialOut {
		t.Helper()
		var last []control.DialOut
		for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			ds, err := api.DialOuts(ctx)
			if err == nil && len(ds) == 1 && ds[0].State == "up" {
				return ds[0]
			}
			last = ds
		}
		t.Fatalf("dial-out not up within %v: %+v", d, last)
		return control.DialOut{}
	}
	traffic := func(d control.DialOut) {
		t.Helper()
		if d.Peer != "10.79.97.1" {
			t.Errorf("peer %s, want pptpd's localip", d.Peer)
		}
		// Box LAN -> server LAN, and server LAN -> box LAN.
		if o, err := ns.Run(ctx, "ping", "-c", "3", "-W", "5", "-I", "10.10.0.1", "10.20.0.1"); err != nil {
			t.Fatalf("box LAN -> server: %v\n%s", err, o)
		}
		if o, err := server.MustRun(ctx, "ping -c 3 -W 5 -I 10.20.0.1 10.10.0.1"); err != nil {
			t.Fatalf("server -> box LAN: %v\n%s", err, o)
		}
	}
	d := waitUp(3 * time.Minute)
	t.Logf("up: %+v", d)
	traffic(d)
	if log, _, _ := server.Run(ctx, "cat /var/log/pppd.log"); !bytes.Contains([]byte(log), []byte("MPPE 128-bit stateless compression enabled")) {
		t.Errorf("pppd log without MPPE-128:\n%s", log)
	}

	// pptpd and its pppd die; started again, the box dials back.
	if o, err := server.MustRun(ctx, "killall -9 pptpd pptpctrl pppd; sleep 2; pidof pppd pptpd pptpctrl; true"); err != nil {
		t.Fatalf("kill pptpd: %v\n%s", err, o)
	}
	killed := time.Now()
	time.Sleep(5 * time.Second)
	if o, err := server.MustRun(ctx, "pptpd && sleep 1 && pidof pptpd"); err != nil {
		t.Fatalf("restart pptpd: %v\n%s", err, o)
	}
	d = waitUp(3 * time.Minute)
	t.Logf("back up %v after the kill: %+v", time.Since(killed).Round(time.Second), d)
	if d.Connects < 2 {
		t.Errorf("connects %d, want a second session", d.Connects)
	}
	traffic(d)
}
