package e2e

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// TestRealClientRouter runs boxd as the router (WAN on the guest's tap with
// its nftables filter, a LAN port with a host behind it) and checks the
// product's promise with the real client: it dials in over the WAN, gets
// MPPE and an address, and reaches the LAN host both ways with verified
// data.
func TestRealClientRouter(t *testing.T) {
	vmtest.Gate(t)
	vmtest.Require(t, "nft")
	start := time.Now()
	defer func() { t.Logf("e2e: TestRealClientRouter took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := startRig(t, ctx, true)
	g := r.Guest
	c := rig.Client{User: rig.User, Password: rig.Password}

	if out, err := r.NS.Run(ctx, "nft", "list", "tables"); err != nil || !strings.Contains(out, "pptpbox") {
		t.Fatalf("boxd's nftables table is not in the namespace: %v\n%s", err, out)
	}
	res := dialUp(t, ctx, g, c)
	if res.Status != 0 {
		t.Fatalf("pppd exited %d through the WAN filter:\n%s", res.Status, res.Log)
	}
	mustContain(t, "pppd", res.Log, "CHAP authentication succeeded", "MPPE 128-bit stateless compression enabled")
	if !strings.HasPrefix(res.LocalIP.String(), "10.79.97.") {
		t.Fatalf("no pool address: %v\n%s", res.LocalIP, res.Log)
	}

	host := rig.LANHost.Addr()
	// pppd routes only the peer's address; a split-tunnel client adds the
	// office LAN itself (pptp-linux's docs do it in /etc/ppp/ip-up.d).
	if out, err := g.MustRun(ctx, "ip route add "+rig.LANHost.Masked().String()+" dev ppp0"); err != nil {
		t.Fatalf("route to the LAN: %v\n%s", err, out)
	}
	t.Run("reach the LAN host", func(t *testing.T) {
		if out, err := g.MustRun(ctx, "ping -c 3 -W 5 "+host.String()); err != nil {
			t.Errorf("client -> LAN host: %v\n%s", err, out)
		}
		if out, err := r.LAN.Run(ctx, "ping", "-c", "3", "-W", "5", res.LocalIP.String()); err != nil {
			t.Errorf("LAN host -> client: %v\n%s", err, out)
		}
	})
	t.Run("transfer with the LAN host", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		up, err := rig.Upload(ctx, r.LAN, netip.AddrPortFrom(host, 5101), g, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		down, err := rig.Download(ctx, r.LAN, netip.AddrPortFrom(host, 5102), g, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("client <-> LAN host: %d bytes up (%.2f MB/s), %d down (%.2f MB/s), sha256 verified",
			up.Bytes, up.Rate(), down.Bytes, down.Rate())
	})
	if _, err := rig.Hangup(ctx, g, c); err != nil {
		t.Error(err)
	}
}
