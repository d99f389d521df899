package main

import (
	"context"
	"net/netip"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/session"
	"github.com/pptpbox/pptpbox/pkg/trace"
)

// Trace follows the next logins of a user or from a peer address (the
// console's `trace user NAME`, `trace peer ADDRESS`): it subscribes to the
// session server's trace hub and calls fn for each line until ctx ends
// (the operator's Ctrl-C; Trace then returns nil) or fn fails (its error).
// Sessions never wait for fn: lines a slow reader cannot take are dropped
// and reported as "… N events dropped".
func (a boxAPI) Trace(ctx context.Context, f control.TraceFilter, fn func(control.TraceEvent) error) error {
	filter, err := traceFilter(f)
	if err != nil {
		return err
	}
	a.b.mu.Lock()
	srv := a.b.srv
	a.b.mu.Unlock()
	if srv == nil {
		return control.Errorf(control.CodeUnavailable, "the PPTP server is not running")
	}
	return followTrace(ctx, srv, filter, fn)
}

// followTrace is Trace once the filter is checked and the server known.
func followTrace(ctx context.Context, srv *session.Server, filter trace.Filter, fn func(control.TraceEvent) error) error {
	sub, err := srv.Trace().Subscribe(filter, 0)
	if err != nil {
		return control.Errorf(control.CodeBadRequest, "%v", err)
	}
	defer sub.Close()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := fn(controlTraceEvent(ev)); err != nil {
			return err
		}
	}
}

// traceFilter checks and converts the API's filter: a user name, or a peer
// address (an address:port is taken as its address).
func traceFilter(f control.TraceFilter) (trace.Filter, error) {
	user, peer := strings.TrimSpace(f.User), strings.TrimSpace(f.Peer)
	switch {
	case user != "" && peer != "":
		return trace.Filter{}, control.Errorf(control.CodeBadRequest, "trace a user or a peer address, not both")
	case user != "":
		return trace.Filter{User: user}, nil
	case peer != "":
		a, err := netip.ParseAddr(peer)
		if err != nil {
			ap, perr := netip.ParseAddrPort(peer)
			if perr != nil {
				return trace.Filter{}, control.Errorf(control.CodeBadRequest, "trace peer: %q is not an IP address", peer)
			}
			a = ap.Addr()
		}
		return trace.Filter{Peer: a.Unmap()}, nil
	}
	return trace.Filter{}, control.Errorf(control.CodeBadRequest, "trace needs a user name or a peer address")
}

// controlTraceEvent maps a trace line onto the API's.
func controlTraceEvent(ev trace.Event) control.TraceEvent {
	out := control.TraceEvent{
		Time: ev.Time, CallID: ev.CallID, User: ev.User,
		Layer: ev.Layer, Dir: ev.Dir, Text: ev.Text,
	}
	if ev.Peer.IsValid() {
		out.Peer = ev.Peer.String()
	}
	return out
}
