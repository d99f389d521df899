// Command boxd is the pptpbox daemon: the PPTP VPN server (and, as the
// router work lands, the WAN/LAN ports and NAT), run from one TOML file.
//
//	boxd -config /etc/pptpbox.toml   run the box
//	     [-board NAME] [-config-source TEXT]
//	                                 what show system reports (the init passes them)
//	boxd check [-on-box] FILE        validate FILE; exit 1 with file:line:key errors
//	                                 (-on-box: the interfaces it names must exist)
//	boxd version
//
// It needs root (TUN, a raw GRE socket) and nothing else from the host.
// SIGTERM or SIGINT ends every session cleanly and exits; SIGHUP reloads the
// config file (a file that fails validation is refused and the box keeps its
// last good config).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// version is set by the firmware build (-ldflags -X main.version=...).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "boxd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return check(args[1:], stdout, linkExists)
		case "version":
			fmt.Fprintln(stdout, "boxd", version)
			return nil
		}
	}
	fs := flag.NewFlagSet("boxd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/pptpbox.toml", "config file")
	sock := fs.String("control", control.DefaultSocket, "control socket path (empty: none)")
	var sys sysInfo
	fs.StringVar(&sys.board, "board", "", "the board's name, for show system (the init passes it)")
	fs.StringVar(&sys.configSource, "config-source", "", "where the config came from, for show system (the init passes it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, *cfgPath, *sock, sys, stderr)
}
