package radius

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/pptpbox/pptpbox/pkg/aaa"
)

func TestLatencyBuckets(t *testing.T) {
	c := &Client{}
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 6 * time.Millisecond, time.Second, time.Minute} {
		c.lat.observe(d)
	}
	got := c.Latency()
	want := []uint64{2, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1} // <=5ms: 1ms, 5ms; <=10ms: 6ms; <=1s; past 10s
	if len(got.Counts) != len(want) || got.Count != 5 || got.Sum != time.Minute+time.Second+12*time.Millisecond {
		t.Fatalf("latency %+v", got)
	}
	for i := range want {
		if got.Counts[i] != want[i] {
			t.Errorf("bucket %d: %d, want %d (%v)", i, got.Counts[i], want[i], got.Counts)
		}
	}
}

// TestLatencyAndAcctPending: a server answering after 60 ms is seen in
// Latency, and an accounting record waiting for its answer in AcctPending.
func TestLatencyAndAcctPending(t *testing.T) {
	release := make(chan struct{})
	srv := newFakeServer(t, "k", func(req *radius.Packet) *radius.Packet {
		if req.Code == radius.CodeAccountingRequest {
			<-release
			return req.Response(radius.CodeAccountingResponse)
		}
		time.Sleep(60 * time.Millisecond)
		return mschapv2Server(nil)(req)
	})
	c := newTestClient(t, func(cfg *Config) { cfg.Timeout = 5 * time.Second },
		Server{Auth: srv.addr(), Acct: srv.addr(), Secret: []byte("k")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatal(res, err)
	}
	l := c.Latency()
	if l.Count != 1 || l.Sum < 60*time.Millisecond {
		t.Fatalf("latency %+v", l)
	}
	for i, b := range LatencyBounds {
		if b < 60*time.Millisecond && l.Counts[i] != 0 {
			t.Errorf("a 60 ms answer in the bucket up to %v: %v", b, l.Counts)
		}
	}
	if n := c.AcctPending(); n != 0 {
		t.Fatalf("acct pending %d before any session", n)
	}
	rec := aaa.Record{User: "alice", Peer: netip.MustParseAddr("198.51.100.7"), IP: netip.MustParseAddr("10.79.97.10"), Result: res, Up: time.Now()}
	c.Start(rec, func() aaa.Record { return rec })
	deadline := time.Now().Add(5 * time.Second)
	for c.AcctPending() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := c.AcctPending(); n != 1 {
		t.Fatalf("acct pending %d while the Start waits, want 1", n)
	}
	close(release)
	c.Stop(rec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.AcctPending(); n != 0 {
		t.Errorf("acct pending %d after Close", n)
	}
	if l := c.Latency(); l.Count < 3 {
		t.Errorf("latency count %d after auth, start and stop", l.Count)
	}
}
