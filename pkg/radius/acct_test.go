package radius

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/pptpbox/pptpbox/pkg/aaa"
)

func acctServer(t *testing.T, secret string) *fakeServer {
	return newFakeServer(t, secret, func(req *radius.Packet) *radius.Packet {
		if req.Code != radius.CodeAccountingRequest {
			return nil
		}
		return req.Response(radius.CodeAccountingResponse)
	})
}

// TestAccounting: Start, Interim-Update from the configured interval, Stop
// with counters (gigawords), the cause and the Class, under the Acct-
// Session-Id of the Access-Request.
func TestAccounting(t *testing.T) {
	authSrv := newFakeServer(t, "k", mschapv2Server(func(resp *radius.Packet) { rfc2865.Class_Add(resp, []byte("cls")) }))
	acct := acctServer(t, "k")
	c := newTestClient(t, func(cfg *Config) { cfg.InterimInterval = 50 * time.Millisecond },
		Server{Auth: authSrv.addr(), Acct: acct.addr(), Secret: []byte("k")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatal(res, err)
	}
	id := c.SessionID(res)
	rec := aaa.Record{
		User: "alice", Peer: netip.MustParseAddr("198.51.100.7"), IP: netip.MustParseAddr("10.79.97.10"),
		CallID: 7, Result: res, Up: time.Now(),
	}
	c.Start(rec, func() aaa.Record { r := rec; r.BytesIn, r.PktsIn = 1000, 10; return r })
	deadline := time.Now().Add(5 * time.Second)
	for len(acct.reqs()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop := rec
	stop.BytesIn, stop.BytesOut, stop.PktsIn, stop.PktsOut = 5<<32+7, 123, 99, 98
	stop.Time, stop.Cause = 90*time.Second, aaa.CauseIdleTimeout
	c.Stop(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := acct.reqs()
	if len(got) < 4 {
		t.Fatalf("%d accounting requests, want start, 2+ interim, stop", len(got))
	}
	first, last := got[0], got[len(got)-1]
	if rfc2866.AcctStatusType_Get(first) != rfc2866.AcctStatusType_Value_Start ||
		rfc2866.AcctStatusType_Get(got[1]) != rfc2866.AcctStatusType_Value_InterimUpdate ||
		rfc2866.AcctInputOctets_Get(got[1]) != 1000 ||
		rfc2866.AcctStatusType_Get(last) != rfc2866.AcctStatusType_Value_Stop {
		t.Errorf("status types: %v ... %v", first.Attributes, last.Attributes)
	}
	for _, p := range got {
		if rfc2866.AcctSessionID_GetString(p) != id || string(rfc2865.Class_Get(p)) != "cls" ||
			rfc2865.FramedIPAddress_Get(p).String() != "10.79.97.10" || rfc2865.UserName_GetString(p) != "alice" {
			t.Errorf("request %v", p.Attributes)
		}
	}
	if rfc2866.AcctInputOctets_Get(last) != 7 || rfc2869.AcctInputGigawords_Get(last) != 5 ||
		rfc2866.AcctOutputOctets_Get(last) != 123 || rfc2866.AcctInputPackets_Get(last) != 99 ||
		rfc2866.AcctSessionTime_Get(last) != 90 ||
		rfc2866.AcctTerminateCause_Get(last) != rfc2866.AcctTerminateCause_Value_IdleTimeout {
		t.Errorf("stop %v", last.Attributes)
	}
	if c.SessionID(res) != "" {
		t.Error("login state kept after Stop")
	}
	// Accounting-On/Off.
	if err := c.AccountingOn(ctx, true); err != nil {
		t.Fatal(err)
	}
	got = acct.reqs()
	if rfc2866.AcctStatusType_Get(got[len(got)-1]) != rfc2866.AcctStatusType_Value_AccountingOn {
		t.Errorf("accounting-on: %v", got[len(got)-1].Attributes)
	}
}

// TestAccountingReplyInterval: the Accept's Acct-Interim-Interval wins
// over the configured one but not below MinInterim.
func TestAccountingReplyInterval(t *testing.T) {
	authSrv := newFakeServer(t, "k", mschapv2Server(func(resp *radius.Packet) { rfc2869.AcctInterimInterval_Set(resp, 1) }))
	acct := acctServer(t, "k")
	c := newTestClient(t, func(cfg *Config) { cfg.InterimInterval = time.Hour; cfg.MinInterim = 100 * time.Millisecond },
		Server{Auth: authSrv.addr(), Acct: acct.addr(), Secret: []byte("k")})
	res, _ := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	rec := aaa.Record{User: "alice", Result: res}
	start := time.Now()
	c.Start(rec, func() aaa.Record { return rec })
	for len(acct.reqs()) < 2 && time.Since(start) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	c.Stop(rec)
	if len(acct.reqs()) < 2 || time.Since(start) < time.Second {
		t.Errorf("interim after %v (%d requests), want the reply's 1s", time.Since(start), len(acct.reqs()))
	}
}

// TestAccountingLost: no accounting server answers: counted, logged, and
// Close does not hang past the budget.
func TestAccountingLost(t *testing.T) {
	silent := newFakeServer(t, "k", func(*radius.Packet) *radius.Packet { return nil })
	c := newTestClient(t, short, Server{Auth: silent.addr(), Acct: silent.addr(), Secret: []byte("k")})
	rec := aaa.Record{User: "x"}
	c.Start(rec, func() aaa.Record { return rec })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.AcctLost != 1 || s.AcctSent != 0 {
		t.Errorf("stats %+v", s)
	}
}
