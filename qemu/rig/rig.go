package rig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// Addresses of the bench.
var (
	BoxAddr   = netip.MustParseAddr("192.0.2.1")  // namespace side of the tap: boxd's WAN address
	GuestAddr = netip.MustParseAddr("192.0.2.2")  // the client guest's eth0
	LocalIP   = netip.MustParseAddr("10.79.97.1") // boxd's end of every tunnel (pptpd localip)
	Pool      = "10.79.97.10-200"                 // pptpd remoteip
	DNS       = [2]netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("8.8.4.4")}
	// Router mode's LAN (documentation range RFC 5737 in place of the
	// product's 192.168.1.0/24): the box's port and one host behind it.
	LANBox  = netip.MustParsePrefix("198.51.100.1/24")
	LANHost = netip.MustParsePrefix("198.51.100.10/24")
)

// The local user of DefaultConfig (the seed tutorial's chap-secrets line).
const (
	User     = "test"
	Password = "test.test"
)

// DefaultConfig is the boxd configuration of the bench: PPTP on BoxAddr,
// MS-CHAPv2 against the local user table, MPPE-128 required, DNS handed out,
// /metrics on MetricsAddr (the namespace's loopback).
// It has no [wan]/[lan]/[nat] section, so boxd runs as a plain PPTP server
// and leaves the namespace's links and nftables alone.
func DefaultConfig() string {
	return benchConfig(BoxAddr.String()+":1723") + fmt.Sprintf("\n[metrics]\nlisten = %q\n", MetricsAddr)
}

// MetricsAddr is where DefaultConfig's boxd serves /metrics, in the rig's
// namespace.
const MetricsAddr = "127.0.0.1:9100"

func benchConfig(listen string) string {
	return fmt.Sprintf(`# pptpbox bench: boxd in a network namespace, the Debian client in QEMU.
[log]
level = "debug"

[pptp]
listen = "%s"
local_ip = "%s"
remote_ip = "%s"
dns = ["%s", "%s"]
mppe = "require-128"

[[user]]
name = "%s"
password = "%s"
`, listen, LocalIP, Pool, DNS[0], DNS[1], User, Password)
}

// RouterConfig is DefaultConfig with the router on: tap0 is the WAN
// (static BoxAddr, no gateway), lan0 the LAN (LANBox, no DHCP server, whose
// lease file would land on the host), nftables in the namespace with the
// product's defaults (WAN input filter, VPN to LAN forwarding, masquerade,
// MSS clamp). PPTP listens on ":1723": the WAN address appears only once
// boxd's router has configured tap0, after the listener may have started.
func RouterConfig() string {
	return benchConfig(":1723") + fmt.Sprintf(`
[wan]
interface = "tap0"
mode = "static"
address = "%s/24"

[lan]
interface = "lan0"
address = "%s"

[lan.dhcp]
enabled = false

[nat]
vpn_to_lan = true
`, BoxAddr, LANBox)
}

// Options configures Start.
type Options struct {
	// Boxd is the boxd binary.
	Boxd string
	// Config is boxd's TOML; empty means DefaultConfig().
	Config string
	// Dir holds the config, boxd's log and the guest console; the caller removes it.
	Dir string
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// BuildLog receives the guest build's progress; nil discards it.
	BuildLog io.Writer
	// Router runs boxd as the router: RouterConfig (unless Config is set),
	// tap0 left unaddressed for boxd to configure, and a LAN namespace with
	// a host at LANHost behind lan0.
	Router bool
}

// Rig is a running bench.
type Rig struct {
	NS      *netns.NS
	LAN     *netns.NS // the LAN host's namespace in router mode, else nil
	Guest   *vmtest.Guest
	Boxd    *Boxd
	Dir     string
	cfgPath string
	opts    Options
}

// Start builds (or reuses) the client guest, creates the namespace and tap,
// starts boxd and boots the guest. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Rig, err error) {
	if opts.Config == "" {
		opts.Config = DefaultConfig()
		if opts.Router {
			opts.Config = RouterConfig()
		}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	img, err := vmtest.BuildImage(ctx, vmtest.FlavourClient, opts.BuildLog)
	if err != nil {
		return nil, err
	}
	r := &Rig{Dir: opts.Dir, cfgPath: filepath.Join(opts.Dir, "box.toml"), opts: opts}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if err := os.WriteFile(r.cfgPath, []byte(opts.Config), 0o600); err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	if r.NS, err = netns.New("pptpbox-rig"); err != nil {
		return nil, err
	}
	tapAddr := netip.PrefixFrom(BoxAddr, 24)
	if opts.Router {
		tapAddr = netip.Prefix{} // boxd configures its WAN itself
		if r.LAN, err = netns.New("pptpbox-lan"); err != nil {
			return nil, err
		}
		if err := r.NS.AddVeth(ctx, "lan0", r.LAN, "eth0", LANHost, LANBox.Addr()); err != nil {
			return nil, err
		}
	}
	if err := r.NS.AddTap(ctx, "tap0", tapAddr); err != nil {
		return nil, err
	}
	if r.Boxd, err = StartBoxd(ctx, r.NS, opts.Boxd, r.cfgPath, opts.Dir); err != nil {
		return nil, err
	}
	opts.Log.Info("boxd ready", "pid", r.Boxd.PID(), "netns", r.NS.Name)
	r.Guest, err = vmtest.Boot(ctx, vmtest.Config{
		Image: img, NS: r.NS, Tap: "tap0", Name: "client",
		Addr: netip.PrefixFrom(GuestAddr, 24), Dir: opts.Dir, Log: opts.Log,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RestartBoxd starts a new boxd with the same config (after a Stop).
func (r *Rig) RestartBoxd(ctx context.Context) error {
	if r.Boxd != nil {
		r.Boxd.Kill()
	}
	b, err := StartBoxd(ctx, r.NS, r.opts.Boxd, r.cfgPath, r.Dir)
	if err != nil {
		return err
	}
	r.Boxd = b
	return nil
}

// Close kills QEMU and boxd by PID and removes the namespace and its tap.
func (r *Rig) Close() error {
	if r.Guest != nil {
		r.Guest.Close()
	}
	if r.Boxd != nil {
		r.Boxd.Kill()
	}
	var errs []error
	if r.NS != nil {
		errs = append(errs, r.NS.Close())
	}
	if r.LAN != nil {
		errs = append(errs, r.LAN.Close())
	}
	return errors.Join(errs...)
}

// Diagnostics returns the tails of boxd's log and the guest console, for a
// failing test's output.
func (r *Rig) Diagnostics() string {
	var b strings.Builder
	if r.Boxd != nil {
		fmt.Fprintf(&b, "--- boxd log (tail) ---\n%s\n", tailLines(r.Boxd.Log.String(), 60))
	}
	if r.Guest != nil {
		fmt.Fprintf(&b, "--- guest console (tail) ---\n%s\n", tailLines(r.Guest.Console(), 30))
	}
	return b.String()
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
