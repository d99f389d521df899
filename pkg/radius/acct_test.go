package radius

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
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

// outageServer is an accounting server that answers once answer is set.
func outageServer(t *testing.T) (*fakeServer, *atomic.Bool) {
	answer := new(atomic.Bool)
	return newFakeServer(t, "k", func(req *radius.Packet) *radius.Packet {
		if !answer.Load() {
			return nil
		}
		return req.Response(radius.CodeAccountingResponse)
	}), answer
}

// TestAccountingQueued: no accounting server answers: the record stays
// queued (counted as unanswered, never lost), Close gives up at its
// context with an error naming the queue, and it is sent once a server
// answers, with Acct-Delay-Time.
func TestAccountingQueued(t *testing.T) {
	srv, answer := outageServer(t)
	c := newTestClient(t, func(cfg *Config) { short(cfg); cfg.Retries = -1; cfg.AcctRetryMax = 200 * time.Millisecond },
		Server{Auth: srv.addr(), Acct: srv.addr(), Secret: []byte("k")})
	rec := aaa.Record{User: "x"}
	c.Start(rec, func() aaa.Record { return rec })
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 accounting records still queued") {
		t.Fatalf("Close: %v", err)
	}
	if s := c.Stats(); s.AcctLost != 0 || s.AcctSent != 0 || s.AcctQueued != 1 || s.AcctUnanswered == 0 {
		t.Errorf("stats %+v", s)
	}
	answer.Store(true)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.AcctSent != 1 || s.AcctQueued != 0 {
		t.Errorf("stats %+v", s)
	}
	reqs := srv.reqs()
	last := reqs[len(reqs)-1]
	if d := rfc2866.AcctDelayTime_Get(last); d < 1 {
		t.Errorf("Acct-Delay-Time %d after >1s queued", d)
	}
	if ts := rfc2869.EventTimestamp_Get(last); time.Since(ts) > time.Minute || time.Since(ts) < time.Second {
		t.Errorf("Event-Timestamp %v", ts)
	}
	// Each try after a change of Acct-Delay-Time is a new packet.
	ids := map[byte]bool{}
	for _, r := range reqs {
		ids[r.Identifier] = true
	}
	if len(reqs) < 2 || len(ids) < 2 {
		t.Errorf("%d tries with %d identifiers", len(reqs), len(ids))
	}
}

// TestAccountingQueueBound: a full queue drops its oldest Interim-Update,
// then new Interim-Updates, never a Start or a Stop; the order per session
// is kept.
func TestAccountingQueueBound(t *testing.T) {
	srv, answer := outageServer(t)
	c := newTestClient(t, func(cfg *Config) {
		short(cfg)
		cfg.Retries = -1
		cfg.AcctRetryMax = 100 * time.Millisecond
		cfg.AcctQueueMax = 4
	}, Server{Auth: srv.addr(), Acct: srv.addr(), Secret: []byte("k")})
	l := &login{sessionID: "AB"}
	in := func(st rfc2866.AcctStatusType, n uint64) {
		c.enqueue(&acctItem{st: st, sessionID: l.sessionID, rec: aaa.Record{User: "x", BytesIn: n}, event: time.Now()})
	}
	in(rfc2866.AcctStatusType_Value_Start, 0)
	for i := uint64(1); i <= 5; i++ {
		in(rfc2866.AcctStatusType_Value_InterimUpdate, i)
	}
	in(rfc2866.AcctStatusType_Value_Stop, 9)
	in(rfc2866.AcctStatusType_Value_Start, 0)
	in(rfc2866.AcctStatusType_Value_Stop, 10)
	in(rfc2866.AcctStatusType_Value_InterimUpdate, 11) // full of Starts and Stops: dropped
	answer.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string // the records in the order sent, resends collapsed
	for _, r := range srv.reqs() {
		key := fmt.Sprintf("%v/%d", rfc2866.AcctStatusType_Get(r), rfc2866.AcctInputOctets_Get(r))
		if len(got) == 0 || got[len(got)-1] != key {
			got = append(got, key)
		}
	}
	want := []string{"Start/0", "Stop/9", "Start/0", "Stop/10"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	if s := c.Stats(); s.AcctDropped != 6 {
		t.Errorf("dropped %d, want 6", s.AcctDropped)
	}
}

// TestAccountingSpool: a Start and a Stop no server answered are in the
// spool when the client gives up (a restart); a new client on the same
// spool sends them with Acct-Delay-Time from the stored event time, in
// order, and empties the spool. Unreadable files are set aside.
func TestAccountingSpool(t *testing.T) {
	dir := t.TempDir()
	silent := newFakeServer(t, "k", func(*radius.Packet) *radius.Packet { return nil })
	c1 := newTestClient(t, func(cfg *Config) { short(cfg); cfg.Retries = -1; cfg.AcctSpool = dir },
		Server{Auth: silent.addr(), Acct: silent.addr(), Secret: []byte("k")})
	rec := aaa.Record{User: "alice", Peer: netip.MustParseAddr("198.51.100.7"), IP: netip.MustParseAddr("10.79.97.10"), CallID: 3,
		Result: &ppp.AuthResult{OK: true, Class: [][]byte{[]byte("cls")}}}
	c1.Start(rec, func() aaa.Record { return rec })
	stop := rec
	stop.BytesIn, stop.BytesOut, stop.PktsIn, stop.PktsOut, stop.Time, stop.Cause = 5<<32+7, 1234, 10, 20, 42*time.Second, aaa.CauseUserRequest
	c1.Stop(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := c1.Close(ctx); err == nil {
		t.Fatal("Close with no server answering: no error")
	}
	c1.Abandon() // the process ends
	if n := c1.Stats().AcctSpooled; n != 2 {
		t.Fatalf("%d spooled, want 2", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.acct"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a whole second of delay

	acct := acctServer(t, "k")
	c2 := newTestClient(t, func(cfg *Config) { cfg.AcctSpool = dir }, Server{Auth: acct.addr(), Acct: acct.addr(), Secret: []byte("k")})
	if n, err := c2.LoadSpool(); n != 2 || err != nil {
		t.Fatalf("LoadSpool: %d, %v", n, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := acct.reqs()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if rfc2866.AcctStatusType_Get(reqs[0]) != rfc2866.AcctStatusType_Value_Start || rfc2866.AcctStatusType_Get(reqs[1]) != rfc2866.AcctStatusType_Value_Stop {
		t.Errorf("order %v, %v", rfc2866.AcctStatusType_Get(reqs[0]), rfc2866.AcctStatusType_Get(reqs[1]))
	}
	p := reqs[1]
	if rfc2866.AcctSessionID_GetString(p) != rfc2866.AcctSessionID_GetString(reqs[0]) ||
		rfc2865.UserName_GetString(p) != "alice" || rfc2865.NASPort_Get(p) != 3 ||
		rfc2865.FramedIPAddress_Get(p).String() != "10.79.97.10" || string(rfc2865.Class_Get(p)) != "cls" ||
		rfc2866.AcctInputOctets_Get(p) != 7 || rfc2869.AcctInputGigawords_Get(p) != 5 || rfc2866.AcctOutputOctets_Get(p) != 1234 ||
		rfc2866.AcctInputPackets_Get(p) != 10 || rfc2866.AcctOutputPackets_Get(p) != 20 || rfc2866.AcctSessionTime_Get(p) != 42 ||
		rfc2866.AcctTerminateCause_Get(p) != rfc2866.AcctTerminateCause_Value_UserRequest || rfc2866.AcctDelayTime_Get(p) < 1 {
		t.Errorf("stop from the spool: %v", p.Attributes)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 1 || filepath.Base(left[0]) != "junk.acct.bad" {
		t.Errorf("spool left %v, want only junk.acct.bad", left)
	}
	if n := c2.Stats().AcctSpooled; n != 0 {
		t.Errorf("%d spooled", n)
	}
}

// TestAccountingCloseRunning: Close while a session still runs (a
// replaced server list's drain) returns at its context, not when the
// session ends.
func TestAccountingCloseRunning(t *testing.T) {
	acct := acctServer(t, "k")
	c := newTestClient(t, func(cfg *Config) { cfg.InterimInterval = time.Hour }, Server{Auth: acct.addr(), Acct: acct.addr(), Secret: []byte("k")})
	rec := aaa.Record{User: "x", Result: &ppp.AuthResult{OK: true}}
	c.Start(rec, func() aaa.Record { return rec })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "running sessions") {
		t.Errorf("Close: %v", err)
	}
	if n := len(acct.reqs()); n != 1 {
		t.Errorf("%d requests, want the Start", n)
	}
	c.Stop(rec)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close after the Stop: %v", err)
	}
}
