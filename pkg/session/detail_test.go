package session

import (
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// TestDetailsAndEndCall: Details describes a live session in full (its
// control connection's address and port, the negotiated options, the link
// counters, the authenticator's result), and EndCall ends only the call it
// names, as Admin-Reset.
func TestDetailsAndEndCall(t *testing.T) {
	acct := &acctLog{snaps: map[string]func() aaa.Record{}}
	r := newRig(t, func(c *Config) { c.Accounting = acct; c.SingleSession = aaa.SingleOff })
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dial(t, "bob", "bob-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := r.srv.Details()
	if len(ds) != 2 {
		t.Fatalf("Details = %d sessions, want 2", len(ds))
	}
	var alice Detail
	for _, d := range ds {
		if d.User == "alice" {
			alice = d
		}
	}
	n := alice.Negotiated
	switch {
	case !alice.Up || alice.Result == nil || !alice.Result.OK:
		t.Fatalf("alice: up %v result %+v", alice.Up, alice.Result)
	case alice.PeerAddr.Addr().String() != alice.Peer || alice.PeerAddr.Port() == 0:
		t.Errorf("PeerAddr %v, Peer %s", alice.PeerAddr, alice.Peer)
	case n.Phase != ppp.PhaseNetwork || !n.LCPOpen || !n.IPCPOpen || n.Auth != ppp.AuthMSCHAPv2 || n.AuthUser != "alice":
		t.Errorf("Negotiated = %+v", n)
	case n.PeerIP.String() != alice.IP || n.PeerIP != a.Addr():
		t.Errorf("IPCP peer %v, Info.IP %s, client %v", n.PeerIP, alice.IP, a.Addr())
	case alice.Link.ControlIn == 0 || alice.Link.ControlOut == 0:
		t.Errorf("link counters %+v", alice.Link)
	}

	unknown := alice.CallID + 1
	for r.srv.callByID(unknown) != nil {
		unknown++
	}
	if _, ok := r.srv.EndCall(unknown, "test"); ok {
		t.Error("EndCall of an unknown call reported one ended")
	}
	got, ok := r.srv.EndCall(alice.CallID, "kicked")
	if !ok || got.User != "alice" || got.CallID != alice.CallID {
		t.Fatalf("EndCall = %+v, %v", got, ok)
	}
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("alice's client still up")
	}
	waitFor(t, func() bool { _, ok := acct.stopOf("alice"); return ok })
	if rec, _ := acct.stopOf("alice"); rec.Cause != aaa.CauseAdminReset {
		t.Fatalf("cause %v, want Admin-Reset", rec.Cause)
	}
	select {
	case <-b.Done():
		t.Fatal("bob's session ended too")
	default:
	}
	if _, ok := r.srv.EndCall(alice.CallID, "again"); ok {
		t.Error("EndCall of an ended call reported it ended")
	}
}
