// Command demo shows the PPTP server to a person: boxd runs in a network
// namespace with an example config, Debian's PPTP client (pppd + pptp-linux
// in a QEMU guest) dials it, and the demo prints what the client sees: the
// authentication, MPPE, its address and DNS servers, and a ping through the
// tunnel. qemu/demo.sh (make demo, make run) builds what it needs and runs it.
//
//	demo -boxd out/qemu/boxd [-router] [-config box.toml] [-user test -password test.test] [-hold 0s] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/qemu/rig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespace, tap device, TUN)")
	}
	cfg := ""
	if o.cfgFile != "" {
		b, err := os.ReadFile(o.cfgFile)
		if err != nil {
			return err
		}
		cfg = string(b)
	}
	dir, err := os.MkdirTemp("", "pptpbox-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logOut := io.Discard
	if o.verbose {
		logOut = stderr
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	fmt.Fprintln(stdout, "== pptpbox demo: boxd in a network namespace, Debian's PPTP client in QEMU")
	start := time.Now()
	r, err := rig.Start(ctx, rig.Options{Boxd: o.boxd, Config: cfg, Dir: dir,
		Log: slog.New(slog.NewTextHandler(logOut, nil)), BuildLog: logOut, Router: o.router})
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(stdout, "boxd (pid %d) listens on %s:1723 in netns %s\n", r.Boxd.PID(), rig.BoxAddr, r.NS.Name)
	fmt.Fprintf(stdout, "client guest %s booted in %v (no KVM: software emulation)\n", rig.GuestAddr, r.Guest.BootTime().Round(100*time.Millisecond))

	c := rig.Client{User: o.user, Password: o.password}
	if err := connect(ctx, r, c, o, stdout, stderr); err != nil {
		return err
	}
	if err := showTunnel(ctx, r, o.router, stdout); err != nil {
		return err
	}
	holdAndHangup(ctx, r, c, o.hold, stdout)
	if o.verbose {
		fmt.Fprintf(stderr, "--- boxd log ---\n%s", r.Boxd.Log.String())
	}
	fmt.Fprintf(stdout, "\ndemo done in %v\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// options are the demo's command-line flags.
type options struct {
	boxd, cfgFile, user, password string
	hold                          time.Duration
	verbose, router               bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.boxd, "boxd", "", "boxd binary (required)")
	fs.StringVar(&o.cfgFile, "config", "", "boxd TOML config (default: the bench's example)")
	fs.StringVar(&o.user, "user", rig.User, "PPTP user name the client dials with")
	fs.StringVar(&o.password, "password", rig.Password, "its password")
	fs.DurationVar(&o.hold, "hold", 0, "keep the session up this long before hanging up (Ctrl-C ends early)")
	fs.BoolVar(&o.verbose, "v", false, "print progress and boxd's log")
	fs.BoolVar(&o.router, "router", false, "run boxd as the router (WAN filter, NAT, a LAN host the client reaches)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.boxd == "" || fs.NArg() > 0 {
		fs.Usage()
		return o, errors.New("usage: demo -boxd PATH [flags]")
	}
	return o, nil
}

// connect configures the guest's pppd and dials the box, printing the
// highlights of pppd's log.
func connect(ctx context.Context, r *rig.Rig, c rig.Client, o options, stdout, stderr io.Writer) error {
	if err := rig.Configure(ctx, r.Guest, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== client: pppd call box  (pty \"pptp %s --nolaunchpppd\", name %s, require-mppe-128)\n", rig.BoxAddr, o.user)
	res, err := rig.Dial(ctx, r.Guest, c)
	if err != nil {
		return err
	}
	for _, l := range highlights(res.Log) {
		fmt.Fprintln(stdout, "  pppd: "+l)
	}
	if res.Status != 0 {
		if o.verbose {
			fmt.Fprintln(stderr, r.Diagnostics())
		}
		return fmt.Errorf("the client could not connect (pppd exit status %d)", res.Status)
	}
	return nil
}

// showTunnel pings through the tunnel (and, as a router, a LAN host), shows
// the client's ppp0 and boxd's "session up" line.
func showTunnel(ctx context.Context, r *rig.Rig, router bool, stdout io.Writer) error {
	fmt.Fprintf(stdout, "\n== client: ping -c 3 %s (the box's end of the tunnel)\n", rig.LocalIP)
	out, _, err := r.Guest.Run(ctx, "ping -c 3 -W 5 "+rig.LocalIP.String())
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, indent(out))
	if router {
		lan := rig.LANHost.Masked().String()
		host := rig.LANHost.Addr().String()
		fmt.Fprintf(stdout, "\n== client: ip route add %s dev ppp0; ping -c 3 %s (a host on the box's LAN)\n", lan, host)
		out, _, err = r.Guest.Run(ctx, "ip route add "+lan+" dev ppp0 && ping -c 3 -W 5 "+host)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, indent(out))
	}
	fmt.Fprintf(stdout, "\n== client: ip addr show ppp0\n")
	out, _, _ = r.Guest.Run(ctx, "ip addr show ppp0")
	fmt.Fprint(stdout, indent(out))

	if line, ok := lastMatch(r.Boxd.Log.String(), `msg="session up"`); ok {
		fmt.Fprintf(stdout, "\n== boxd:\n  %s\n", line)
	}
	return nil
}

// holdAndHangup keeps the session up for hold (or until ctx ends), hangs
// up and shows boxd's "session down" line.
func holdAndHangup(ctx context.Context, r *rig.Rig, c rig.Client, hold time.Duration, stdout io.Writer) {
	if hold > 0 {
		fmt.Fprintf(stdout, "\nholding the session for %v (Ctrl-C to end)\n", hold)
		select {
		case <-time.After(hold):
		case <-ctx.Done():
		}
	}
	hctx, hcancel := context.WithTimeout(context.Background(), time.Minute)
	defer hcancel()
	if _, err := rig.Hangup(hctx, r.Guest, c); err == nil {
		if line, ok := lastMatch(r.Boxd.Log.String(), `msg="session down"`); ok {
			fmt.Fprintf(stdout, "\n== client hung up; boxd:\n  %s\n", line)
		}
	}
}

// highlightRe picks the pppd lines a person wants to see: the link, the
// authentication, encryption, addresses and DNS, and failures.
var highlightRe = regexp.MustCompile(`^(Connect:|Using interface|CHAP authentication|MS-CHAP|MPPE|local  IP|remote IP|primary|secondary|LCP terminated|Connection terminated|Modem hangup|.*(failed|refused|E=691))`)

func highlights(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if highlightRe.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

func lastMatch(log, pattern string) (string, bool) {
	re := regexp.MustCompile(pattern)
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if re.MatchString(lines[i]) {
			return lines[i], true
		}
	}
	return "", false
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
