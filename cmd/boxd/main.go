// Command boxd is the pptpbox daemon: the PPTP VPN server (and, as the
// router work lands, the WAN/LAN ports and NAT), run from one TOML file.
//
//	boxd -config /etc/pptpbox.toml   run the box
//	     [-board NAME] [-config-source TEXT] [-firmware-status FILE]
//	                                 what show system reports (the init passes them)
//	     [-config-store FILE]        where console commits go (default: the -config file);
//	                                 the firmware runs a copy in /run and commits to /config
//	     [-set-clock]                [time]'s SNTP client sets the clock (the init passes it)
//	     [-log-previous FILE]        the log the init saved, for show log previous
//	boxd check [-on-box] FILE        validate FILE; exit 1 with file:line:key errors
//	                                 (-on-box: the interfaces it names must exist)
//	boxd hash-password               read a password (twice, no echo, on a terminal) and
//	                                 print its salted hash for [console] password_hash
//	boxd version
//
// It needs root (TUN, a raw GRE socket) and nothing else from the host.
// SIGTERM or SIGINT ends every session cleanly and exits; SIGHUP reloads the
// config file (a file that fails validation is refused and the box keeps its
// last good config).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/confstore"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// version is set by the firmware build (-ldflags -X main.version=...).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "boxd:", err)
		os.Exit(exitCode(err))
	}
}

// exitUnfixable is the exit status for a fault that starting boxd again
// cannot fix (sysexits.h's EX_CONFIG): the init stops restarting it and
// says why, instead of looping (firmware/pid1.ExitUnfixable).
const exitUnfixable = 78

// unfixable marks an error that a restart cannot fix: the config file
// cannot run, the command line is wrong, the kernel lacks a device.
type unfixable struct{ error }

func (u unfixable) Unwrap() error { return u.error }

// exitCode is the exit status for an error run returned.
func exitCode(err error) int {
	var u unfixable
	if errors.As(err, &u) {
		return exitUnfixable
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return check(args[1:], stdout, linkExists)
		case "hash-password":
			return hashPassword(args[1:], os.Stdin, stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, "boxd", version)
			return nil
		}
	}
	fs := flag.NewFlagSet("boxd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/pptpbox.toml", "config file")
	storePath := fs.String("config-store", "", "where config commits are written, with the rollback point beside it (default: the -config file)")
	sock := fs.String("control", control.DefaultSocket, "control socket path (empty: none)")
	var sys sysInfo
	fs.StringVar(&sys.board, "board", "", "the board's name, for show system (the init passes it)")
	fs.StringVar(&sys.configSource, "config-source", "", "where the config came from, for show system (the init passes it)")
	fs.BoolVar(&sys.setClock, "set-clock", false, "let [time]'s SNTP client set the clock and the RTC (the init passes it; elsewhere boxd only measures)")
	fs.StringVar(&sys.logPrevious, "log-previous", "", "the log the init saves at reboot, for show log previous (the init passes it)")
	fs.StringVar(&sys.firmware, "firmware-status", "", "the init's boot slot status (JSON), for show system")
	fs.StringVar(&sys.acctSpool, "acct-spool", "", "directory where RADIUS accounting Starts and Stops no server answered are kept until one does, across restarts (the init passes one on the CONFIG partition; empty: memory only)")
	if err := fs.Parse(args); err != nil {
		return unfixable{err}
	}
	if fs.NArg() > 0 {
		return unfixable{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	files := boxFiles{path: *cfgPath, store: confstore.Store{Path: *storePath, RunPath: *cfgPath}}
	if files.store.Path == "" {
		files.store.Path = *cfgPath
	}
	// A commit confirmed that was never confirmed is undone before the
	// config is read (the run file is reverted too).
	if _, err := confstore.RevertPending(files.store, newLogger(stderr, "info")); err != nil {
		return err
	}
	cfg, text, err := loadConfig(*cfgPath)
	if err != nil {
		return unfixable{err}
	}
	files.text = text
	return serve(ctx, cfg, files, *sock, sys, stderr)
}

// loadConfig reads and validates path, keeping its text (the running
// config the console shows and diffs against).
func loadConfig(path string) (*config.Config, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", &config.Error{File: path, Msg: err.Error()}
	}
	cfg, errs := confstore.Check(path, string(b))
	if len(errs) > 0 {
		return nil, "", errors.New(strings.Join(errs, "\n"))
	}
	return cfg, string(b), nil
}
