package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// The QEMU row: one namespace with a bridge (rig.BoxAddr) and two taps,
// the client guest (Debian's pppd + pptp-linux) and the server guest
// (Debian's pptpd). boxd runs in the namespace on rig.BoxAddr. Both
// servers carry the client's transfers to qemuSink, an address of the
// namespace the guest routes through its ppp0: boxd delivers it from its
// TUN, pptpd's guest forwards it over the bridge.
var (
	pptpdAddr = netip.MustParseAddr("192.0.2.3")
	qemuSink  = netip.MustParseAddr("198.51.100.1")
)

// qemuTransfer is each direction's payload, per server.
const qemuTransfer = 8 << 20

// qemuLock is the machine-wide lock every QEMU test takes (flock), so that
// only one runs at a time on the shared cores.
const qemuLock = "/tmp/pptpbox-qemu.lock"

// rowQEMU is (7), run with qemuLock held: the same pppd client guest through boxd and through
// Debian's pptpd, TCP both ways (rig.Upload/Download: busybox nc in the
// guest, a Go socket in the namespace, sha256 checked), ratio boxd/pptpd
// of the two directions' sum.
func (b *bench) rowQEMU() (Row, error) {
	row := Row{ID: 7, Name: "pppd guest: boxd / Debian pptpd (QEMU, TCP both ways)", Goal: "≥ 1.0 (not slower than pptpd)"}
	if !b.opts.QEMU {
		return row, errSkip("BENCH_QEMU=0")
	}
	ctx, cancel := context.WithTimeout(b.ctx, 12*time.Minute)
	defer cancel()
	var err error
	dir := mkdir(b.dir, "qemu")
	logf, err := os.Create(filepath.Join(dir, "progress.log"))
	if err != nil {
		return row, err
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, nil))
	images := map[string]string{}
	for _, f := range []string{vmtest.FlavourClient, vmtest.FlavourServer} {
		if images[f], err = vmtest.BuildImage(ctx, f, logf); err != nil {
			return row, err
		}
	}
	ns, err := netns.New("pptpbox-bq")
	if err != nil {
		return row, err
	}
	defer ns.Close()
	for _, tap := range []string{"tap0", "tap1"} {
		if err := ns.AddTap(ctx, tap, netip.Prefix{}); err != nil {
			return row, err
		}
	}
	if err := ns.AddBridge(ctx, "br0", netip.PrefixFrom(rig.BoxAddr, 24), "tap0", "tap1"); err != nil {
		return row, err
	}
	if _, err := ns.IP(ctx, "addr", "add", netip.PrefixFrom(qemuSink, 32).String(), "dev", "br0"); err != nil {
		return row, err
	}
	specs := []vmtest.Config{
		{Image: images[vmtest.FlavourClient], NS: ns, Tap: "tap0", Name: "client", MAC: "52:54:00:00:03:02",
			Addr: netip.PrefixFrom(rig.GuestAddr, 24), Dir: dir, Log: log},
		{Image: images[vmtest.FlavourServer], NS: ns, Tap: "tap1", Name: "pptpd", MAC: "52:54:00:00:03:03",
			Addr: netip.PrefixFrom(pptpdAddr, 24), Dir: dir, Log: log},
	}
	guests, bootErr := vmtest.BootAll(ctx, specs)
	for _, g := range guests {
		if g != nil {
			ns.OnClose(func() { g.Close() })
		}
	}
	if bootErr != nil {
		return row, bootErr
	}
	client, server := guests[0], guests[1]
	q := &QEMU{}

	// boxd in the namespace.
	cfg := filepath.Join(dir, "box.toml")
	if err := os.WriteFile(cfg, []byte(rig.DefaultConfig()), 0o600); err != nil {
		return row, err
	}
	boxd, err := rig.StartBoxd(ctx, ns, b.bins.Boxd, cfg, dir)
	if err != nil {
		return row, err
	}
	up, down, err := guestTransfers(ctx, ns, client, rig.Client{Server: rig.BoxAddr, User: rig.User, Password: rig.Password})
	boxd.Stop(10 * time.Second)
	if err != nil {
		return row, fmt.Errorf("through boxd: %w", err)
	}
	q.BoxdUpMBps, q.BoxdDownMBps = up, down

	// pptpd in the server guest, forwarding to the namespace; the
	// namespace's way back to the pool is through it (boxd's TUN is gone).
	if err := rig.StartPPTPD(ctx, server, "echo 1 > /proc/sys/net/ipv4/ip_forward && ip route add "+qemuSink.String()+" via "+rig.BoxAddr.String()); err != nil {
		return row, err
	}
	if _, err := ns.IP(ctx, "route", "add", "10.79.97.0/24", "via", pptpdAddr.String()); err != nil {
		return row, err
	}
	up, down, err = guestTransfers(ctx, ns, client, rig.Client{Peer: "pptpd", Server: pptpdAddr, User: rig.User, Password: rig.Password})
	if err != nil {
		out, _, _ := server.Run(context.Background(), rig.PPTPDLogs)
		fmt.Fprintf(logf, "pptpd guest logs:\n%s\n", out)
		return row, fmt.Errorf("through pptpd: %w", err)
	}
	q.PPTPDUpMBps, q.PPTPDDownMBps = up, down
	b.rep.QEMU = q
	ratio := (q.BoxdUpMBps + q.BoxdDownMBps) / (q.PPTPDUpMBps + q.PPTPDDownMBps)
	b.rep.QEMUBoxdOverPPTPD = ptr(ratio)
	row.Met = met(ratio >= 1)
	row.Result = fmt.Sprintf("boxd up %.2f down %.2f MB/s, pptpd up %.2f down %.2f MB/s: %.2f×", q.BoxdUpMBps, q.BoxdDownMBps, q.PPTPDUpMBps, q.PPTPDDownMBps, ratio)
	return row, nil
}

// guestTransfers dials c from the guest, routes qemuSink through the
// link, moves qemuTransfer bytes each way and hangs up: MB/s up and down.
func guestTransfers(ctx context.Context, ns *netns.NS, g *vmtest.Guest, c rig.Client) (up, down float64, err error) {
	if err := rig.Configure(ctx, g, c); err != nil {
		return 0, 0, err
	}
	res, err := rig.Dial(ctx, g, c)
	if err != nil {
		return 0, 0, err
	}
	if res.Status != 0 || !res.LocalIP.IsValid() {
		return 0, 0, fmt.Errorf("pppd exited %d:\n%s", res.Status, tail(res.Log, 20))
	}
	defer rig.Hangup(context.Background(), g, c)
	if out, err := g.MustRun(ctx, "ip route add "+qemuSink.String()+"/32 dev ppp0"); err != nil {
		return 0, 0, fmt.Errorf("route: %w\n%s", err, out)
	}
	u, err := rig.Upload(ctx, ns, netip.AddrPortFrom(qemuSink, 5001), g, qemuTransfer)
	if err != nil {
		return 0, 0, err
	}
	d, err := rig.Download(ctx, ns, netip.AddrPortFrom(qemuSink, 5002), g, qemuTransfer)
	if err != nil {
		return 0, 0, err
	}
	return u.Rate(), d.Rate(), nil
}

// lockFile takes an exclusive flock on path, waiting while ctx lasts.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s (another QEMU test runs): %w", path, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// errSkip is a row left out on purpose (not a failure).
type errSkip string

func (e errSkip) Error() string { return string(e) }
