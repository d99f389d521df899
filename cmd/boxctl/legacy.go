package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// The commands of the boxctl before the console, kept for the scripts and
// the init that run them (its readiness check is `boxctl ping`):
// `sessions` (the old table, JSON with --json), `stats` (JSON),
// `disconnect USER` (kick), `ping` without a host (is boxd alive: its
// version). They call the typed API like the rest.

// isLegacy reports whether words are one of the old commands.
func isLegacy(words []string) bool {
	switch words[0] {
	case "sessions", "stats", "disconnect":
		return true
	case "ping":
		return len(words) == 1
	}
	return false
}

// runLegacy runs an old command and prints its reply as the old boxctl did.
func runLegacy(ctx context.Context, api control.API, words []string, asJSON bool, stdout io.Writer) error {
	words = slices.DeleteFunc(slices.Clone(words), func(w string) bool {
		if w == "--json" || w == "-json" {
			asJSON = true
			return true
		}
		return false
	})
	var v any
	var err error
	switch words[0] {
	case "ping":
		v, err = api.Ping(ctx)
	case "stats":
		v, err = api.Stats(ctx)
	case "disconnect":
		if len(words) != 2 {
			return usageError("usage: disconnect USER")
		}
		var ended []control.Session
		ended, err = api.Kick(ctx, words[1])
		v = map[string]int{"ended": len(ended)}
	case "sessions":
		var list []control.Session
		if list, err = api.Sessions(ctx); err == nil && !asJSON {
			return oldTable(stdout, list)
		}
		v = list
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, v)
}

func oldTable(w io.Writer, list []control.Session) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tIP\tPEER\tCALL\tMPPE\tUPTIME\tIN\tOUT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\n", s.User, s.IP, s.Peer, s.CallID, s.MPPE, s.Uptime, s.BytesIn, s.BytesOut)
	}
	return tw.Flush()
}
