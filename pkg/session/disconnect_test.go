package session

import (
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/mschap"
)

// TestDisconnectWhere ends the sessions whose names match, as the peers
// sent them (a Windows "DOMAIN\" prefix included), as Admin-Reset, and
// leaves the others.
func TestDisconnectWhere(t *testing.T) {
	acct := &acctLog{snaps: map[string]func() aaa.Record{}}
	r := newRig(t, func(c *Config) { c.Accounting = acct; c.SingleSession = aaa.SingleOff })
	a, err := r.dial(t, `CORP\alice`, "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dial(t, "bob", "bob-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	ended := r.srv.DisconnectWhere(func(u string) bool { return mschap.StripDomain(u) == "alice" }, "test")
	if len(ended) != 1 || ended[0].User != `CORP\alice` || ended[0].IP != a.Addr().String() {
		t.Fatalf("ended %+v", ended)
	}
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("alice's client still up")
	}
	waitFor(t, func() bool { _, ok := acct.stopOf(`CORP\alice`); return ok })
	if rec, _ := acct.stopOf(`CORP\alice`); rec.Cause != aaa.CauseAdminReset {
		t.Fatalf("cause %v, want Admin-Reset", rec.Cause)
	}
	select {
	case <-b.Done():
		t.Fatal("bob's session ended too")
	default:
	}
}
