// Command boxctl talks to a running boxd over its control socket.
//
//	boxctl sessions            list live sessions
//	boxctl stats               server counters (drops by reason, limits, RADIUS, DHCP)
//	boxctl disconnect USER     end USER's sessions
//	boxctl reload              re-read the config file (as SIGHUP)
//	boxctl ping                is boxd alive (version, time)
//
// The commands are control.Commands; boxctl -h lists them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "boxctl:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("boxctl", flag.ContinueOnError)
	sock := fs.String("socket", control.DefaultSocket, "boxd control socket")
	asJSON := fs.Bool("json", false, "print the raw JSON answer")
	fs.SetOutput(io.Discard) // errors are returned; -h prints usage to stdout
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, fs)
			return nil
		}
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: boxctl [-socket PATH] [-json] COMMAND (%s)", control.CommandList())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := control.Request{Cmd: fs.Arg(0), Args: fs.Args()[1:]}
	var raw json.RawMessage
	if err := control.Call(ctx, *sock, req, &raw); err != nil {
		return err
	}
	if *asJSON || req.Cmd != "sessions" {
		var v any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	var list []control.Session
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tIP\tPEER\tCALL\tMPPE\tUPTIME\tIN\tOUT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\n", s.User, s.IP, s.Peer, s.CallID, s.MPPE, s.Uptime, s.BytesIn, s.BytesOut)
	}
	return tw.Flush()
}

// usage prints the flags and every command boxd's control socket serves.
func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: boxctl [-socket PATH] [-json] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range control.Commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.Name, c.Args, c.Help)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}
