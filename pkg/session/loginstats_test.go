package session

import (
	"context"
	"errors"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

func failures(t Totals) map[string]uint64 {
	m := map[string]uint64{}
	for _, f := range t.Failures {
		m[f.Reason] = f.Count
	}
	return m
}

// TestTotals: logins up and refused by reason, sessions by state, and
// traffic totals that keep an ended session's bytes.
func TestTotals(t *testing.T) {
	local := aaa.NewLocal([]aaa.LocalUser{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}})
	r := newRig(t, func(c *Config) {
		c.SingleSession = aaa.SingleDeny
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			switch req.User {
			case "radius-down":
				return nil, errors.New("radius: no RADIUS server answered")
			case "radius-no":
				return &ppp.AuthResult{Message: "no", Refusal: ppp.RefusalRadiusReject}, nil
			case "mute":
				return &ppp.AuthResult{Message: "no"}, nil
			}
			return local.Authenticate(ctx, req)
		})
	})
	if len(FailureReasons) != len(failures(r.srv.Totals())) {
		t.Fatalf("Totals lists %d reasons, FailureReasons %d", len(failures(r.srv.Totals())), len(FailureReasons))
	}
	for _, u := range [][2]string{{"alice", "wrong"}, {"nobody", "x"}, {"radius-down", "x"}, {"radius-no", "x"}, {"mute", "x"}} {
		if _, err := r.dial(t, u[0], u[1], nil); err == nil {
			t.Fatalf("%s logged in", u[0])
		}
	}
	got := make(chan []byte, 100)
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dial(t, "bob", "bob-pw", func(p []byte) { got <- append([]byte(nil), p...) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.dial(t, "alice", "alice-pw", nil); err == nil {
		t.Fatal("second alice logged in under single_session = deny")
	}
	const n, size = 10, 500
	for range n {
		if err := a.WriteIP(udpPacket(a.Addr(), b.Addr(), make([]byte, size-28))); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-got
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 2 })
	tt := r.srv.Totals()
	// Alice's packets came in on her session and went out on Bob's.
	if tt.Up != 2 || tt.Starting != 0 || tt.LoginsOK != 2 || tt.PktsIn != n || tt.PktsOut != n || tt.BytesIn != n*size || tt.BytesOut != n*size {
		t.Errorf("totals %+v", tt)
	}
	want := map[string]uint64{FailBadPassword: 1, FailUnknownUser: 1, FailRadiusTimeout: 1, FailRadiusReject: 1,
		FailRefused: 1, FailSingleSession: 1}
	for reason, n := range failures(tt) {
		if n != want[reason] {
			t.Errorf("failures %s = %d, want %d", reason, n, want[reason])
		}
	}
	// An ended session's traffic stays in the totals.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	after := r.srv.Totals()
	if after.Up != 0 || after.BytesIn != tt.BytesIn || after.BytesOut != tt.BytesOut || after.PktsIn != tt.PktsIn || after.PktsOut != tt.PktsOut {
		t.Errorf("after the sessions ended: %+v, before %+v", after, tt)
	}
}
