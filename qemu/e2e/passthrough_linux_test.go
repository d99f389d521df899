package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// The outside server of TestPPTPPassthrough: poptop pptpd on the box's WAN
// segment, with a pool of its own (not boxd's 10.79.97.0/24) so that no
// address of its tunnels is also a route of the box.
var (
	outsideServer = netip.MustParseAddr("192.0.2.3")
	outsideLocal  = netip.MustParseAddr("10.80.0.1")
	lanClients    = []netip.Prefix{netip.MustParsePrefix("198.51.100.2/24"), netip.MustParsePrefix("198.51.100.3/24")}
)

const outsidePPTPDConf = `option /etc/ppp/pptpd-options
localip 10.80.0.1
remoteip 10.80.0.10-20
`

// TestPPTPPassthrough is issue 12: two LAN hosts behind the box dial the
// same PPTP server outside it (Debian's pppd + pptp-linux in two guests on
// the LAN bridge, poptop pptpd in a third on the WAN), through boxd as the
// router with its masquerade. With [nat] pptp_passthrough = true both
// links come up with MPPE at the same time, both ping the server's tunnel
// end at once, and the server sees only the box's WAN address; meanwhile
// the pptpd guest also dials boxd's own server on the WAN (same outside
// address, GRE to the same WAN address) and pings through it, and boxd
// receives no GRE of the LAN hosts' calls. After a
// reload with pptp_passthrough = false (and the namespace's conntrack table
// flushed, so no entry made under the helper survives) the LAN hosts dial
// again one after the other: the second gets no working link (nor, on
// kernels whose conntrack tracks PPTP GRE by call ID, CONFIG_NF_CT_PROTO_GRE
// as in Debian's and this host's, does the first: the log says), and the server's GRE is seen
// arriving at the box itself: the key is what makes passthrough work.
func TestPPTPPassthrough(t *testing.T) {
	vmtest.Require(t, "nft", "go")
	start := time.Now()
	defer func() { t.Logf("e2e: TestPPTPPassthrough took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(logWriter{t}, nil))
	dir := t.TempDir()

	images := map[string]string{}
	for _, f := range []string{vmtest.FlavourClient, vmtest.FlavourServer} {
		img, err := vmtest.BuildImage(ctx, f, logWriter{t})
		if err != nil {
			t.Fatal(err)
		}
		images[f] = img
	}

	// The box: tap0 is its WAN (boxd gives it rig.BoxAddr), shared with the
	// pptpd guest; lan0 is a bridge over the two client guests' taps.
	ns, err := netns.New("pptpbox-pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("netns close: %v", err)
		}
	})
	for _, tap := range []string{"tap0", "tap1", "tap2"} {
		if err := ns.AddTap(ctx, tap, netip.Prefix{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ns.AddBridge(ctx, "lan0", netip.Prefix{}, "tap1", "tap2"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "box.toml")
	writeCfg := func(passthrough bool) {
		// RouterConfig ends in [nat]: the key belongs there.
		cfg := rig.RouterConfig() + fmt.Sprintf("pptp_passthrough = %v\n", passthrough)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(true)
	box, err := rig.StartBoxd(ctx, ns, boxdBinary(t, dir), cfgPath, dir)
	if err != nil {
		t.Fatal(err)
	}
	ns.OnClose(box.Kill)
	t.Cleanup(func() {
		box.Kill()
		if t.Failed() {
			t.Logf("boxd log:\n%s", box.Log.String())
		}
	})

	specs := []vmtest.Config{
		{Image: images[vmtest.FlavourServer], NS: ns, Tap: "tap0", Name: "pptpd", MAC: "52:54:00:00:12:03",
			Addr: netip.PrefixFrom(outsideServer, 24), Dir: dir, Log: log},
		{Image: images[vmtest.FlavourClient], NS: ns, Tap: "tap1", Name: "lan1", MAC: "52:54:00:00:12:11",
			Addr: lanClients[0], Gateway: rig.LANBox.Addr(), Dir: dir, Log: log},
		{Image: images[vmtest.FlavourClient], NS: ns, Tap: "tap2", Name: "lan2", MAC: "52:54:00:00:12:12",
			Addr: lanClients[1], Gateway: rig.LANBox.Addr(), Dir: dir, Log: log},
	}
	guests := bootAll(ctx, t, ns, specs)
	t.Logf("three guests booted in %v", time.Since(start).Round(time.Millisecond))
	server, clients := guests[0], guests[1:]
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _ := server.Run(context.Background(), "cat /var/log/pppd.log; tail -40 /var/log/messages")
			t.Logf("pptpd guest logs:\n%s", out)
		}
	})
	for path, data := range map[string]string{
		"/etc/pptpd.conf": outsidePPTPDConf, "/etc/ppp/pptpd-options": rig.PPTPDOptions, "/etc/ppp/chap-secrets": rig.PPTPDSecrets,
	} {
		if err := server.WriteFile(ctx, path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := server.MustRun(ctx, "syslogd -O /var/log/messages && pptpd && sleep 1 && pidof pptpd"); err != nil {
		t.Fatalf("start pptpd: %v\n%s", err, out)
	}
	// Names differ per guest so that a failure's log says which host it was.
	dialers := []rig.Client{
		{Peer: "lan1", Server: outsideServer, User: rig.User, Password: rig.Password},
		{Peer: "lan2", Server: outsideServer, User: rig.User, Password: rig.Password},
	}
	for i, g := range clients {
		if err := rig.Configure(ctx, g, dialers[i]); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := ns.Run(ctx, "nft", "list", "table", "inet", "pptpbox"); err != nil || !strings.Contains(out, `type "pptp" protocol tcp`) {
		t.Fatalf("no pptp ct helper in the box's table: %v\n%s", err, out)
	}

	// GRE the box itself received for calls it does not have: boxd's raw
	// socket sees every GRE packet delivered locally, and counts it.
	strayGRE := func(t *testing.T) uint64 {
		st, err := box.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.GREUnknownCall + st.GREWrongPeer
	}

	t.Run("passthrough on: two LAN hosts at once", func(t *testing.T) {
		stray := strayGRE(t)
		// Both dial at the same time.
		res := make([]*rig.Result, len(clients))
		var wg sync.WaitGroup
		for i, g := range clients {
			wg.Go(func() {
				r, err := rig.Dial(ctx, g, dialers[i])
				if err != nil {
					t.Error(err)
					return
				}
				res[i] = r
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for i, r := range res {
			if r.Status != 0 || !r.LocalIP.IsValid() {
				t.Fatalf("%s: pppd exited %d, address %v:\n%s", dialers[i].Peer, r.Status, r.LocalIP, r.Log)
			}
			mustContain(t, dialers[i].Peer, r.Log, "CHAP authentication succeeded", "MPPE 128-bit stateless compression enabled")
			if r.RemoteIP != outsideLocal {
				t.Errorf("%s: remote %v, want the server's %v", dialers[i].Peer, r.RemoteIP, outsideLocal)
			}
		}
		if res[0].LocalIP == res[1].LocalIP {
			t.Errorf("both links got %v", res[0].LocalIP)
		}
		// The box's own server meanwhile, dialed from the same outside
		// address as the LAN hosts' server (the pptpd guest has pppd and
		// pptp-linux too): its GRE, 192.0.2.3 -> the WAN address like the
		// calls the helper de-NATs, must reach boxd and only boxd.
		own := rig.Client{Peer: "box", Server: rig.BoxAddr, User: rig.User, Password: rig.Password}
		for path, data := range map[string]string{
			"/etc/ppp/options.pptp": rig.OptionsPPTP, "/etc/ppp/peers/box": own.PeersFile(),
			// pptpd's line (any server name) and the client's.
			"/etc/ppp/chap-secrets": rig.PPTPDSecrets + own.ChapSecrets(),
		} {
			if err := server.WriteFile(ctx, path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ownRes, err := rig.Dial(ctx, server, own)
		if err != nil {
			t.Fatal(err)
		}
		if ownRes.Status != 0 || ownRes.RemoteIP != rig.LocalIP {
			t.Fatalf("the outside host dialing boxd: pppd exited %d, remote %v:\n%s", ownRes.Status, ownRes.RemoteIP, ownRes.Log)
		}
		mustContain(t, "outside host -> boxd", ownRes.Log, "MPPE 128-bit stateless compression enabled")
		// All three ping at once: the LAN hosts the server's end through
		// their tunnels, the outside host boxd's end through its own.
		for i, g := range clients {
			wg.Go(func() {
				if out, err := g.MustRun(ctx, "ping -c 5 -i 0.5 -W 5 "+outsideLocal.String()); err != nil {
					t.Errorf("%s: ping %v through its tunnel: %v\n%s", dialers[i].Peer, outsideLocal, err, out)
				}
			})
		}
		wg.Go(func() {
			if out, err := server.MustRun(ctx, "ping -c 5 -i 0.5 -W 5 "+rig.LocalIP.String()); err != nil {
				t.Errorf("outside host: ping boxd's end %v: %v\n%s", rig.LocalIP, err, out)
			}
		})
		wg.Wait()
		// Not rig.Hangup, which waits for every pppd: pptpd's run here too.
		if out, err := server.MustRun(ctx, "p=$(head -n1 /run/ppp-box.pid); kill $p; i=0; while kill -0 $p 2>/dev/null; do i=$((i+1)); [ $i -ge 150 ] && exit 1; sleep 0.2; done"); err != nil {
			t.Errorf("outside host: hang up from boxd: %v\n%s", err, out)
		}
		// pptpd logs each control connection's source: the box's WAN
		// address twice, never a LAN address.
		msgs, err := server.MustRun(ctx, "cat /var/log/messages")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(msgs, "CTRL: Client "+rig.BoxAddr.String()+" control connection started"); n != 2 {
			t.Errorf("pptpd saw %d control connections from the box's WAN address %v, want 2:\n%s", n, rig.BoxAddr, msgs)
		}
		if strings.Contains(msgs, "198.51.100.") {
			t.Errorf("pptpd saw a LAN address:\n%s", msgs)
		}
		// The server's GRE went to the LAN hosts (de-NATed by call ID),
		// none of it to the box's own server.
		if n := strayGRE(t) - stray; n != 0 {
			t.Errorf("boxd received %d GRE packets of the LAN hosts' calls", n)
		}
		for i, g := range clients {
			if _, err := rig.Hangup(ctx, g, dialers[i]); err != nil {
				t.Error(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("passthrough off: the server's GRE lands on the box", func(t *testing.T) {
		writeCfg(false)
		from := box.Log.Len()
		if err := syscall.Kill(box.PID(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if _, err := box.Log.WaitFor(wctx, regexp.MustCompile(`msg="nat: reloaded"`), from); err != nil {
			t.Fatalf("no nat reload: %v\n%s", err, box.Log.String())
		}
		if out, err := ns.Run(ctx, "nft", "list", "table", "inet", "pptpbox"); err != nil || strings.Contains(out, "ct helper") {
			t.Fatalf("the reload left a ct helper in the table: %v\n%s", err, out)
		}
		// Entries made while the helper was attached (GRE keyed by call ID,
		// NAT mappings) would outlive the reload for minutes; start clean.
		if err := flushConntrack(ns); err != nil {
			t.Fatal(err)
		}
		// A link whose GRE never gets through ends after its LCP
		// Configure-Requests go unanswered: 4 of them at 3s, not pppd's 10.
		for i, g := range clients {
			c := dialers[i]
			c.Extra = []string{"lcp-max-configure 4"}
			if err := rig.Configure(ctx, g, c); err != nil {
				t.Fatal(err)
			}
		}
		stray := strayGRE(t)
		first, err := rig.Dial(ctx, clients[0], dialers[0])
		if err != nil {
			t.Fatal(err)
		}
		second, err := rig.Dial(ctx, clients[1], dialers[1])
		if err != nil {
			t.Fatal(err)
		}
		// Why: the kernel's GRE tracking keys PPTP GRE (version 1) by the
		// call ID in its header even without the helper, so the server's
		// GRE to the box's WAN address, which carries the LAN host's call
		// ID, never matches the masqueraded entry of the host's outgoing GRE
		// (keyed by the server's call ID): it is not de-NATed, is delivered
		// to the box itself, and boxd counts it as a call it does not have.
		n := strayGRE(t) - stray
		t.Logf("boxd received %d GRE packets meant for the LAN hosts", n)
		if n == 0 {
			t.Errorf("no GRE of the LAN hosts' calls reached the box")
		}
		t.Logf("%s pppd log without the helper:\n%s", dialers[0].Peer, first.Log)
		t.Logf("%s pppd log without the helper:\n%s", dialers[1].Peer, second.Log)
		t.Logf("without the helper: %s pppd status %d address %v; %s pppd status %d address %v",
			dialers[0].Peer, first.Status, first.LocalIP, dialers[1].Peer, second.Status, second.LocalIP)
		if second.Status == 0 && second.LocalIP.IsValid() {
			if out, st, err := clients[1].Run(ctx, "ping -c 3 -W 3 "+outsideLocal.String()); err == nil {
				t.Logf("ping exit %d", st)
				t.Logf("ping:\n%s", out)
			}
			t.Errorf("%s came up without the helper too: the key changes nothing\n%s", dialers[1].Peer, second.Log)
		}
		for i, r := range []*rig.Result{first, second} {
			if r.Status == 0 {
				if _, err := rig.Hangup(ctx, clients[i], dialers[i]); err != nil {
					t.Error(err)
				}
			}
		}
	})
}

// ctnetlink (linux/netfilter/nfnetlink_conntrack.h): IPCTNL_MSG_CT_DELETE of
// subsystem NFNL_SUBSYS_CTNETLINK without a tuple flushes the whole table.
const (
	nfnlSubsysCTNetlink = 1
	ipctnlMsgCTDelete   = 2
)

// flushConntrack empties ns's IPv4 conntrack table (`conntrack -F`; the
// conntrack tool is not a dependency of the bench).
func flushConntrack(ns *netns.NS) error {
	return ns.Do(func() error {
		c, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
		if err != nil {
			return fmt.Errorf("conntrack flush: %w", err)
		}
		defer c.Close()
		_, err = c.Execute(netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysCTNetlink<<8 | ipctnlMsgCTDelete),
				Flags: netlink.Request | netlink.Acknowledge},
			// struct nfgenmsg: family, version NFNETLINK_V0, resource id.
			Data: []byte{unix.AF_INET, 0, 0, 0},
		})
		if err != nil {
			return fmt.Errorf("conntrack flush: %w", err)
		}
		return nil
	})
}
