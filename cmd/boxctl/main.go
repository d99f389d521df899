// Command boxctl talks to a running boxd over its control socket.
//
//	boxctl sessions            list live sessions
//	boxctl stats               server counters (drops by reason)
//	boxctl disconnect USER     end USER's sessions
//	boxctl ping                is boxd alive
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/session"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: boxctl [-socket PATH] [-json] sessions|stats|disconnect USER|ping")
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
	var list []session.Info
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
