package session

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// acctLog records what the server tells its Accounting.
type acctLog struct {
	mu     sync.Mutex
	starts []aaa.Record
	stops  []aaa.Record
	snaps  map[string]func() aaa.Record
}

func (a *acctLog) Start(r aaa.Record, snap func() aaa.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.starts = append(a.starts, r)
	a.snaps[r.User] = snap
}

func (a *acctLog) Stop(r aaa.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stops = append(a.stops, r)
}

func (a *acctLog) stopOf(user string) (aaa.Record, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.stops {
		if r.User == user {
			return r, true
		}
	}
	return aaa.Record{}, false
}

// TestAccounting: Start when up with the address and the auth result,
// live counters through snap, Stop once with the cause: session timeout,
// administrator disconnect, the peer hanging up, server shutdown; a
// failed login is never started nor stopped.
func TestAccounting(t *testing.T) {
	acct := &acctLog{snaps: map[string]func() aaa.Record{}}
	r := newRig(t, func(c *Config) {
		c.Accounting = acct
		base := c.Authenticator // the rig's users, carol with a fixed address
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := base.Authenticate(ctx, req)
			if err == nil && res.OK && req.User == "alice" {
				res.SessionTimeout = 500 * time.Millisecond
				res.Class = [][]byte{[]byte("c")}
			}
			return res, err
		})
	})
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.dial(t, "bob", "bob-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	carol, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.dial(t, "alice", "wrong", nil); err == nil {
		t.Fatal("wrong password accepted")
	}
	// Traffic from bob is counted in his live record.
	for range 3 {
		b.WriteIP(udpPacket(b.Addr(), carol.Addr(), make([]byte, 100)))
	}
	waitFor(t, func() bool {
		acct.mu.Lock()
		snap := acct.snaps["bob"]
		acct.mu.Unlock()
		return snap != nil && snap().PktsIn == 3 && snap().BytesIn == 3*128
	})
	<-a.Done()
	waitFor(t, func() bool { _, ok := acct.stopOf("alice"); return ok })
	if r.srv.Disconnect("bob", "by test") != 1 {
		t.Fatal("bob not disconnected")
	}
	waitFor(t, func() bool { _, ok := acct.stopOf("bob"); return ok })
	carol.Close()
	waitFor(t, func() bool { _, ok := acct.stopOf("carol"); return ok })

	acct.mu.Lock()
	starts, nstops := acct.starts, len(acct.stops)
	acct.mu.Unlock()
	if len(starts) != 3 || nstops != 3 {
		t.Fatalf("%d starts, %d stops, want 3 each", len(starts), nstops)
	}
	for _, s := range starts {
		if !s.IP.IsValid() || s.Result == nil || s.Up.IsZero() || !s.Peer.IsValid() {
			t.Errorf("start %+v", s)
		}
	}
	for _, tc := range []struct {
		user  string
		cause aaa.Cause
	}{{"alice", aaa.CauseSessionTimeout}, {"bob", aaa.CauseAdminReset}, {"carol", aaa.CauseUserRequest}} {
		s, _ := acct.stopOf(tc.user)
		if s.Cause != tc.cause || s.Time <= 0 {
			t.Errorf("%s: stop %v (%s) after %v, want %v", tc.user, s.Cause, s.Reason, s.Time, tc.cause)
		}
	}
	if s, _ := acct.stopOf("alice"); string(s.Result.Class[0]) != "c" || s.Time < 500*time.Millisecond {
		t.Errorf("alice's stop %+v", s)
	}
	if s, _ := acct.stopOf("bob"); s.BytesIn != 3*128 || s.PktsIn != 3 {
		t.Errorf("bob's stop counters %+v", s)
	}
	if s, _ := acct.stopOf("carol"); s.PktsOut != 3 || s.IP.String() != "10.79.97.77" {
		t.Errorf("carol's stop %+v", s)
	}
}
