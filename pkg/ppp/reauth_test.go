package ppp

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// renegotiate makes e's link start LCP over (RFC 1661 §4.1: Down then Up
// in Opened), as a peer does that sends a new Configure-Request on an open
// link; with user set, the next login names user.
func renegotiate(e *end, user string) {
	e.link.lock()
	defer e.link.unlock()
	if user != "" {
		e.link.cfg.Username = user
	}
	e.link.lcp.Down()
	e.link.lcp.Up()
}

func netIsUp(l *Link) bool {
	l.lock()
	defer l.unlock()
	return l.netUp && !l.dead
}

// waitNetUp waits for both ends' data paths to be open again.
func waitNetUp(t *testing.T, srv, cli *end) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !netIsUp(srv.link) || !netIsUp(cli.link) {
		if time.Now().After(deadline) {
			t.Fatalf("data path not back after renegotiation\nserver log:\n%s", srv.logs)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReauthSameUserKeepsAddresses: a peer that renegotiates LCP after its
// login authenticates again (each time checked by the authenticator, for
// fresh MPPE keys) but is not given addresses again: Config.Network runs
// once per link, so the session layer never hands one call a second pool
// address. Before the fix Network ran on every renegotiation.
func TestReauthSameUserKeepsAddresses(t *testing.T) {
	scfg := serverConfig()
	var networks atomic.Int32
	network := scfg.Network
	scfg.Network = func(ctx context.Context, user string, res *AuthResult) (NetworkParams, error) {
		networks.Add(1)
		return network(ctx, user, res)
	}
	fa := scfg.Authenticator.(*fakeAuth)
	srv, cli := pair(t, scfg, clientConfig())
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	const rounds = 20
	for i := 0; i < rounds; i++ {
		renegotiate(cli, "")
		waitNetUp(t, srv, cli)
		pkt := ipPacket(100, byte(i))
		if err := cli.link.WriteIP(pkt); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		waitIP(t, srv, pkt)
	}
	if n := networks.Load(); n != 1 {
		t.Errorf("Network ran %d times for one link, want 1", n)
	}
	fa.mu.Lock()
	logins := len(fa.reqs)
	fa.mu.Unlock()
	if logins != rounds+1 {
		t.Errorf("authenticator asked %d times, want %d (every login is checked)", logins, rounds+1)
	}
	select {
	case r := <-srv.down:
		t.Fatalf("server went down: %s", r)
	default:
	}
}

// TestReauthOtherUserEndsLink: a login as another user on an authenticated
// link is refused without asking the authenticator, and the link ends.
// Before the fix the link came back up as the second user.
func TestReauthOtherUserEndsLink(t *testing.T) {
	scfg := serverConfig()
	var networks atomic.Int32
	network := scfg.Network
	scfg.Network = func(ctx context.Context, user string, res *AuthResult) (NetworkParams, error) {
		networks.Add(1)
		return network(ctx, user, res)
	}
	fa := &fakeAuth{users: map[string]string{testUser: testPass, "mallory": "mallory-pw"}}
	scfg.Authenticator = fa
	ccfg := clientConfig()
	srv, cli := pair(t, scfg, ccfg)
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	cli.link.lock()
	cli.link.cfg.Password = "mallory-pw"
	cli.link.unlock()
	renegotiate(cli, "mallory")
	reason := waitDown(t, srv, "server")
	if !strings.Contains(reason, "re-authentication") {
		t.Errorf("server down for %q", reason)
	}
	if n := networks.Load(); n != 1 {
		t.Errorf("Network ran %d times, want 1", n)
	}
	fa.mu.Lock()
	defer fa.mu.Unlock()
	for _, r := range fa.reqs {
		if r.User != testUser {
			t.Errorf("authenticator asked about %q", r.User)
		}
	}
	if !srv.logs.has("E=649") {
		t.Errorf("no MS-CHAPv2 Failure E=649 sent:\n%s", srv.logs)
	}
}
