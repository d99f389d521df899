package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// The untyped commands of the boxctl before the console (control.Commands),
// kept as they were for the scripts, tests and firmware that run them
// (the init's readiness check is `boxctl ping`): `sessions` (a table, JSON
// with --json), `stats` (JSON), `disconnect USER`, `ping` without a host.
// They go away with control.Call once boxd serves control.NewHandler.

// isLegacy reports whether words are one of the untyped commands.
func isLegacy(words []string) bool {
	switch words[0] {
	case "sessions", "stats", "disconnect":
		return true
	case "ping":
		return len(words) == 1
	}
	return false
}

// runLegacy sends words as an untyped request and prints the reply as the
// old boxctl did.
func runLegacy(ctx context.Context, sock string, words []string, asJSON bool, stdout io.Writer) error {
	words = slices.DeleteFunc(slices.Clone(words), func(w string) bool {
		if w == "--json" || w == "-json" {
			asJSON = true
			return true
		}
		return false
	})
	req := control.Request{Cmd: words[0], Args: words[1:]}
	var raw json.RawMessage
	if err := control.Call(ctx, sock, req, &raw); err != nil {
		return err
	}
	if asJSON || req.Cmd != "sessions" {
		var v any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		_, err := fmt.Fprintln(stdout, string(b))
		return err
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
