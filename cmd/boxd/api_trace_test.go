package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/session"
	"github.com/pptpbox/pptpbox/pkg/trace"
)

func TestTraceFilter(t *testing.T) {
	for _, tc := range []struct {
		in   control.TraceFilter
		want trace.Filter
		ok   bool
	}{
		{control.TraceFilter{User: "alice"}, trace.Filter{User: "alice"}, true},
		{control.TraceFilter{User: " alice "}, trace.Filter{User: "alice"}, true},
		{control.TraceFilter{Peer: "192.0.2.7"}, trace.Filter{Peer: netip.MustParseAddr("192.0.2.7")}, true},
		{control.TraceFilter{Peer: "192.0.2.7:1723"}, trace.Filter{Peer: netip.MustParseAddr("192.0.2.7")}, true},
		{control.TraceFilter{Peer: "::ffff:192.0.2.7"}, trace.Filter{Peer: netip.MustParseAddr("192.0.2.7")}, true},
		{control.TraceFilter{}, trace.Filter{}, false},
		{control.TraceFilter{User: "a", Peer: "192.0.2.7"}, trace.Filter{}, false},
		{control.TraceFilter{Peer: "box.example"}, trace.Filter{}, false},
	} {
		got, err := traceFilter(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("traceFilter(%+v) = %+v, %v", tc.in, got, err)
		}
		if err != nil && control.CodeOf(err) != control.CodeBadRequest {
			t.Errorf("traceFilter(%+v): code %v, want bad_request", tc.in, control.CodeOf(err))
		}
	}
}

// TestTraceAPI: boxAPI.Trace passes the lines of a matching login on as
// control.TraceEvents, ends with nil when ctx ends and with fn's error
// when fn fails, and unsubscribes either way.
func TestTraceAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := (boxAPI{&box{log: log}}).Trace(context.Background(), control.TraceFilter{User: "a"}, nil); control.CodeOf(err) != control.CodeUnavailable {
		t.Errorf("Trace without a PPTP server: %v", err)
	}
	srv := session.New(session.Config{Logger: log}, nil, nil) // not serving
	api := boxAPI{&box{log: log, srv: srv}}
	hub := srv.Trace()
	peer := netip.MustParseAddr("192.0.2.7")

	// A login placed while the subscriber is there, as the layers write it.
	login := func() {
		c := hub.Open(peer)
		c.Trace("pptp", "rcvd", "[SCCRQ]")
		c.Claim(42)
		c.Trace("auth", "rcvd", `[CHAP Response id=0x1 <hidden 49 bytes>, name = "alice"]`)
		c.Identify("alice")
		c.Trace("session", "", "session up")
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan control.TraceEvent, 16)
	errc := make(chan error, 1)
	go func() {
		errc <- api.Trace(ctx, control.TraceFilter{User: "alice"}, func(ev control.TraceEvent) error {
			got <- ev
			return nil
		})
	}()
	for !hub.Enabled() {
		time.Sleep(time.Millisecond)
	}
	login()
	var evs []control.TraceEvent
	for len(evs) < 3 {
		select {
		case ev := <-got:
			evs = append(evs, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d lines, want 3", len(evs))
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Trace after ctx ended: %v", err)
	}
	if hub.Enabled() {
		t.Fatal("the subscriber is still there after Trace returned")
	}
	want := []control.TraceEvent{
		{Layer: "pptp", Dir: "rcvd", Text: "[SCCRQ]"},
		{CallID: 42, Layer: "auth", Dir: "rcvd", Text: `[CHAP Response id=0x1 <hidden 49 bytes>, name = "alice"]`},
		{CallID: 42, Layer: "session", Text: "session up"},
	}
	for i, ev := range evs {
		if ev.Time.IsZero() || ev.User != "alice" || ev.Peer != "192.0.2.7" {
			t.Errorf("line %d: %+v", i, ev)
		}
		ev.Time, ev.User, ev.Peer = time.Time{}, "", ""
		if ev != want[i] {
			t.Errorf("line %d = %+v, want %+v", i, ev, want[i])
		}
	}

	// fn's error ends the trace with it.
	stop := errors.New("screen closed")
	errc2 := make(chan error, 1)
	go func() {
		errc2 <- api.Trace(context.Background(), control.TraceFilter{Peer: "192.0.2.7"}, func(control.TraceEvent) error { return stop })
	}()
	for !hub.Enabled() {
		time.Sleep(time.Millisecond)
	}
	login()
	select {
	case err := <-errc2:
		if !errors.Is(err, stop) {
			t.Fatalf("Trace = %v, want fn's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Trace did not end on fn's error")
	}
	if hub.Enabled() {
		t.Fatal("the subscriber is still there after fn failed")
	}
}
