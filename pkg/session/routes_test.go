package session

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// TestRoutedSubnet: a session whose AuthResult routes a subnet through it
// gets packets for hosts inside it from TUN, may send from them, and the
// route comes up in the kernel (OnRoute) and goes down with the session. A
// second session claiming an overlapping subnet logs in without it.
func TestRoutedSubnet(t *testing.T) {
	var rmu sync.Mutex
	kernel := map[netip.Prefix]bool{}
	r := newRig(t, func(c *Config) {
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := testUsers.Authenticate(ctx, req)
			if err == nil && res.OK {
				// alice: a site's LAN; carol: overlapping it, and bad ones.
				res.Routes = map[string][]string{
					"alice": {"10.10.0.0/24", "10.20.0.0/16 0.0.0.0 3"},
					"carol": {"10.10.0.128/25", "10.30.0.1/24", "10.40.0.0/24 192.0.2.9", "10.50.0.0/24"},
				}[req.User]
			}
			return res, err
		})
		c.OnRoute = func(p netip.Prefix, up bool) {
			rmu.Lock()
			defer rmu.Unlock()
			if kernel[p] == up {
				t.Errorf("OnRoute(%v, %v) twice", p, up)
			}
			kernel[p] = up
		}
	})
	var mu sync.Mutex
	var fromTUN, toTUN [][]byte
	r.onOutbound = func(p []byte) {
		mu.Lock()
		toTUN = append(toTUN, append([]byte(nil), p...))
		mu.Unlock()
	}
	a, err := r.dial(t, "alice", "alice-pw", func(p []byte) {
		mu.Lock()
		fromTUN = append(fromTUN, append([]byte(nil), p...))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.dial(t, "carol", "carol-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	routes := map[string][]string{}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, i := range r.srv.Sessions() {
			routes[i.User] = i.Routes
		}
		if len(routes["carol"]) > 0 || time.Now().After(deadline) {
			break // carol's link is up on the server's side too
		}
	}
	if got := routes["alice"]; !slices.Equal(got, []string{"10.10.0.0/24", "10.20.0.0/16"}) {
		t.Errorf("alice's routes %q", got)
	}
	if got := routes["carol"]; !slices.Equal(got, []string{"10.50.0.0/24"}) {
		t.Errorf("carol's routes %q, want only the one that neither overlaps alice's nor is malformed", got)
	}
	// The server adds a session's kernel routes as its link comes up, which may be just
	// after the client sees its own link up: wait for them (a bounded wait, not a timing).
	for _, p := range []string{"10.10.0.0/24", "10.20.0.0/16", "10.50.0.0/24"} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			rmu.Lock()
			ok := kernel[netip.MustParsePrefix(p)]
			rmu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s not routed to the TUN", p)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	lan := netip.MustParseAddr("192.168.1.10")
	siteHost := netip.MustParseAddr("10.10.0.7")
	// LAN -> a host behind alice: the longest match wins (10.20.5.5 is in
	// her /16; 10.10.0.200 in her /24, not carol's refused /25).
	for _, dst := range []string{"10.10.0.7", "10.10.0.200", "10.20.5.5"} {
		r.tun.Inbound <- udpPacket(lan, netip.MustParseAddr(dst), []byte(dst))
	}
	r.tun.Inbound <- udpPacket(lan, netip.MustParseAddr("10.99.0.1"), []byte("nowhere"))
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(fromTUN) >= 3 })
	// A host behind alice -> the LAN; a source outside her subnets is
	// still dropped.
	before := r.srv.Stats().PeerWrongSource
	for _, p := range [][]byte{
		udpPacket(siteHost, lan, []byte("site")),
		udpPacket(netip.MustParseAddr("10.50.0.1"), lan, []byte("carol's")),
	} {
		if err := a.WriteIP(p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return r.srv.Stats().PeerWrongSource == before+1 })
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(toTUN) >= 1 })
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(fromTUN) != 3 {
		t.Errorf("alice got %d packets from TUN, want 3", len(fromTUN))
	}
	if len(toTUN) != 1 || string(toTUN[0][28:]) != "site" {
		t.Errorf("TUN got %d packets; want only the one from alice's subnet", len(toTUN))
	}
	mu.Unlock()

	a.Close()
	waitFor(t, func() bool { return r.srv.sessionByIP(siteHost) == nil })
	rmu.Lock()
	for _, p := range []string{"10.10.0.0/24", "10.20.0.0/16"} {
		if kernel[netip.MustParsePrefix(p)] {
			t.Errorf("%s still routed after alice's session ended", p)
		}
	}
	rmu.Unlock()
	if ss := r.srv.sessionByIP(netip.MustParseAddr("10.50.0.9")); ss == nil || ss.user != "carol" {
		t.Errorf("carol's subnet not hers after alice left")
	}
}

// TestRouteTable: longest prefix first, whatever the order of adding, and
// a lookup allocates nothing.
func TestRouteTable(t *testing.T) {
	a, b, c := &Session{user: "a"}, &Session{user: "b"}, &Session{user: "c"}
	var rt routeTable
	rt = rt.add(routeEntry{netip.MustParsePrefix("10.0.0.0/8"), a})
	rt = rt.add(routeEntry{netip.MustParsePrefix("10.1.2.0/24"), c})
	rt = rt.add(routeEntry{netip.MustParsePrefix("10.1.0.0/16"), b})
	for addr, want := range map[string]*Session{"10.1.2.3": c, "10.1.3.3": b, "10.9.9.9": a, "11.0.0.1": nil} {
		if got := rt.lookup(netip.MustParseAddr(addr)); got != want {
			t.Errorf("lookup(%s) = %v, want %v", addr, got, want)
		}
	}
	if _, ok := rt.overlaps(netip.MustParsePrefix("10.1.2.128/25")); !ok {
		t.Error("10.1.2.128/25 does not overlap")
	}
	x := netip.MustParseAddr("10.1.2.3")
	if n := testing.AllocsPerRun(1000, func() { rt.lookup(x) }); n != 0 {
		t.Errorf("lookup: %v allocations", n)
	}
	rt = rt.without(c, netip.Prefix{})
	if got := rt.lookup(x); got != b {
		t.Errorf("after removing c: lookup = %v, want b", got)
	}
	ss := &Session{}
	ss.routes.Store(&[]netip.Prefix{netip.MustParsePrefix("10.10.0.0/24")})
	if n := testing.AllocsPerRun(1000, func() { ss.routedSource(x) }); n != 0 {
		t.Errorf("routedSource: %v allocations", n)
	}
}

// TestRoutedSubnetRedial: a site that logs in again while its old session
// is still there (replaced) keeps its subnet: the new session holds it and
// the kernel route stays when the old one ends.
func TestRoutedSubnetRedial(t *testing.T) {
	var rmu sync.Mutex
	kernel := map[netip.Prefix]int{}
	p := netip.MustParsePrefix("10.10.0.0/24")
	r := newRig(t, func(c *Config) {
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := testUsers.Authenticate(ctx, req)
			if err == nil && res.OK {
				res.Routes = []string{p.String()}
			}
			return res, err
		})
		c.OnRoute = func(p netip.Prefix, up bool) {
			rmu.Lock()
			defer rmu.Unlock()
			if up {
				kernel[p]++
			} else {
				kernel[p]--
			}
		}
	})
	for range 3 {
		a, err := r.dial(t, "alice", "alice-pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		waitFor(t, func() bool { _, _, calls := r.srv.addrState(); return calls == 1 })
		ss := r.srv.sessionByIP(netip.MustParseAddr("10.10.0.5"))
		if ss == nil || ss.ip != a.Addr() {
			t.Fatalf("10.10.0.5 goes to %v, want the newest session (%v)", ss, a.Addr())
		}
		rmu.Lock()
		if kernel[p] != 1 {
			t.Errorf("kernel route count %d, want 1", kernel[p])
		}
		rmu.Unlock()
	}
}
