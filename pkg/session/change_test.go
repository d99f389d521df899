package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// TestRateLimitFromResult: the AuthResult's RateLimit wins over the
// config's default, which applies to everyone else.
func TestRateLimitFromResult(t *testing.T) {
	def, _ := ratelimit.Parse("1M/4M")
	r := newRig(t, func(c *Config) {
		c.RateLimit = def
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := testUsers.Authenticate(ctx, req)
			if err == nil && res.OK && req.User == "alice" {
				res.RateLimit = "512k/2M"
			}
			return res, err
		})
	})
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, i := range r.srv.Sessions() {
		want := map[string]string{"alice": "512k/2M", "carol": "1M/4M"}[i.User]
		if i.RateLimit != want {
			t.Errorf("%s: rate limit %q, want %q", i.User, i.RateLimit, want)
		}
	}
	ss := r.srv.sessionByIP(a.Addr())
	if rx, _ := ss.rx.Limit(); rx != 512_000 {
		t.Errorf("alice's rx bucket at %d bits/s", rx)
	}
	if tx, size := ss.tx.Limit(); tx != 2_000_000 || size != ratelimit.BucketSize(2_000_000, 0, 0, 0) {
		t.Errorf("alice's tx bucket at %d bits/s, %d bytes", tx, size)
	}
}

// TestChange: a CoA's change reaches a live session (rate limit at once,
// Session-Timeout counted from the change), and only a live one.
func TestChange(t *testing.T) {
	r := newRig(t, nil)
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ss := r.srv.sessionByIP(a.Addr())
	l, _ := ratelimit.Parse("256k/1M")
	if !r.srv.ChangeCall(ss.callID, Change{RateLimit: &l}) {
		t.Fatal("ChangeCall found no session")
	}
	if got := ss.Info().RateLimit; got != "256k/1M" {
		t.Errorf("rate limit %q after the change", got)
	}
	var none ratelimit.Limit
	if n := r.srv.ChangeUser("alice", Change{RateLimit: &none}); n != 1 {
		t.Errorf("ChangeUser changed %d sessions", n)
	}
	if got := ss.Info().RateLimit; got != "" {
		t.Errorf("rate limit %q after lifting it", got)
	}
	if r.srv.ChangeCall(ss.callID+1, Change{RateLimit: &l}) || r.srv.ChangeUser("bob", Change{RateLimit: &l}) != 0 {
		t.Error("a change found a session that is not there")
	}
	// A timeout set and then removed (0) ends nothing.
	short, zero := 200*time.Millisecond, time.Duration(0)
	if r.srv.ChangeUser("alice", Change{SessionTimeout: &short}) != 1 || r.srv.ChangeUser("alice", Change{SessionTimeout: &zero}) != 1 {
		t.Fatal("ChangeUser found no session")
	}
	select {
	case <-a.Done():
		t.Fatalf("session ended after its timeout was removed: %s", a.Reason())
	case <-time.After(3 * short):
	}
	const limit = 300 * time.Millisecond
	d := limit
	start := time.Now()
	if r.srv.ChangeUser("alice", Change{SessionTimeout: &d}) != 1 {
		t.Fatal("ChangeUser found no session")
	}
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session outlived the session timeout a change set")
	}
	if el := time.Since(start); el < limit {
		t.Errorf("ended %v after the change, before %v", el, limit)
	}
	if !strings.Contains(a.Reason(), "session timeout") {
		t.Errorf("client's reason %q", a.Reason())
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	if r.srv.ChangeCall(ss.callID, Change{RateLimit: &l}) {
		t.Error("a change reached a session that ended")
	}
}
