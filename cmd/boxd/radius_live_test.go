package main

import (
	"context"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// fakeAcct records the sessions it hears of.
type fakeAcct struct{ started, stopped []string }

func (f *fakeAcct) Start(r aaa.Record, snap func() aaa.Record) { f.started = append(f.started, r.User) }
func (f *fakeAcct) Stop(r aaa.Record)                          { f.stopped = append(f.stopped, r.User) }

// fakeAuth lets everyone in with a fresh result it remembers.
type fakeAuth struct{ results map[*ppp.AuthResult]bool }

func (f *fakeAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	res := &ppp.AuthResult{OK: true}
	f.results[res] = true
	return res, nil
}

func fakeSetup() (*aaaSetup, *fakeAcct) {
	acct := &fakeAcct{}
	auth := &fakeAuth{results: map[*ppp.AuthResult]bool{}}
	return &aaaSetup{auth: auth, acct: acct, owns: func(res *ppp.AuthResult) bool { return auth.results[res] }}, acct
}

// TestLiveAAASwap: after a swap new logins go to the new setup, a login
// the old setup let in just before is still accounted by it, every Stop
// goes where its Start went, and the old setup is forgotten once it owns
// nothing.
func TestLiveAAASwap(t *testing.T) {
	a, acctA := fakeSetup()
	b, acctB := fakeSetup()
	now := time.Unix(1000, 0)
	l := newLiveAAA(a)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	login := func(user string, call uint16) aaa.Record {
		res, _ := l.Authenticate(ctx, &ppp.AuthRequest{User: user})
		return aaa.Record{User: user, Result: res, CallID: call}
	}

	alice := login("alice", 1)
	l.Start(alice, nil)
	bob := login("bob", 2) // accepted by a; its session starts after the swap
	l.swap(b)
	l.Start(bob, nil)
	carol := login("carol", 3)
	l.Start(carol, nil)
	if got := l.current(); got != b {
		t.Fatal("the current setup is not the new one")
	}
	if len(acctA.started) != 2 || acctA.started[1] != "bob" || len(acctB.started) != 1 || acctB.started[0] != "carol" {
		t.Fatalf("starts: old %v new %v", acctA.started, acctB.started)
	}
	now = now.Add(time.Hour)
	l.Stop(carol)
	if len(l.old) != 1 {
		t.Fatal("the old setup was forgotten while it accounts alice and bob")
	}
	l.Stop(alice)
	l.Stop(bob)
	if len(acctA.stopped) != 2 || len(acctB.stopped) != 1 {
		t.Fatalf("stops: old %v new %v", acctA.stopped, acctB.stopped)
	}
	if len(l.old) != 0 || len(l.started) != 0 {
		t.Errorf("kept %d old setups, %d sessions", len(l.old), len(l.started))
	}
}
