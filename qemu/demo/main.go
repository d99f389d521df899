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
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boxd := fs.String("boxd", "", "boxd binary (required)")
	cfgFile := fs.String("config", "", "boxd TOML config (default: the bench's example)")
	user := fs.String("user", rig.User, "PPTP user name the client dials with")
	password := fs.String("password", rig.Password, "its password")
	hold := fs.Duration("hold", 0, "keep the session up this long before hanging up (Ctrl-C ends early)")
	verbose := fs.Bool("v", false, "print progress and boxd's log")
	router := fs.Bool("router", false, "run boxd as the router (WAN filter, NAT, a LAN host the client reaches)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *boxd == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("usage: demo -boxd PATH [flags]")
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespace, tap device, TUN)")
	}
	cfg := ""
	if *cfgFile != "" {
		b, err := os.ReadFile(*cfgFile)
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
	if *verbose {
		logOut = stderr
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	fmt.Fprintln(stdout, "== pptpbox demo: boxd in a network namespace, Debian's PPTP client in QEMU")
	start := time.Now()
	r, err := rig.Start(ctx, rig.Options{Boxd: *boxd, Config: cfg, Dir: dir,
		Log: slog.New(slog.NewTextHandler(logOut, nil)), BuildLog: logOut, Router: *router})
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(stdout, "boxd (pid %d) listens on %s:1723 in netns %s\n", r.Boxd.PID(), rig.BoxAddr, r.NS.Name)
	fmt.Fprintf(stdout, "client guest %s booted in %v (no KVM: software emulation)\n", rig.GuestAddr, r.Guest.BootTime().Round(100*time.Millisecond))

	c := rig.Client{User: *user, Password: *password}
	if err := rig.Configure(ctx, r.Guest, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== client: pppd call box  (pty \"pptp %s --nolaunchpppd\", name %s, require-mppe-128)\n", rig.BoxAddr, *user)
	res, err := rig.Dial(ctx, r.Guest, c)
	if err != nil {
		return err
	}
	for _, l := range highlights(res.Log) {
		fmt.Fprintln(stdout, "  pppd: "+l)
	}
	if res.Status != 0 {
		if *verbose {
			fmt.Fprintln(stderr, r.Diagnostics())
		}
		return fmt.Errorf("the client could not connect (pppd exit status %d)", res.Status)
	}

	fmt.Fprintf(stdout, "\n== client: ping -c 3 %s (the box's end of the tunnel)\n", rig.LocalIP)
	out, _, err := r.Guest.Run(ctx, "ping -c 3 -W 5 "+rig.LocalIP.String())
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, indent(out))
	if *router {
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
	if *hold > 0 {
		fmt.Fprintf(stdout, "\nholding the session for %v (Ctrl-C to end)\n", *hold)
		select {
		case <-time.After(*hold):
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
	if *verbose {
		fmt.Fprintf(stderr, "--- boxd log ---\n%s", r.Boxd.Log.String())
	}
	fmt.Fprintf(stdout, "\ndemo done in %v\n", time.Since(start).Round(100*time.Millisecond))
	return nil
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
