package session

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// barrierAuth holds every login until n have arrived, then lets them all
// go at once: the verdicts reach the single-session check together.
type barrierAuth struct {
	next    ppp.Authenticator
	n       int32
	arrived atomic.Int32
	release chan struct{}
}

func (b *barrierAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	if b.arrived.Add(1) == b.n {
		close(b.release)
	}
	select {
	case <-b.release:
	case <-time.After(10 * time.Second): // not all arrived: go on anyway
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.next.Authenticate(ctx, req)
}

// TestSingleSessionConcurrentLogins races logins of one user whose
// verdicts arrive together. Under deny exactly one gets in; under replace
// exactly one session survives. Before the fix (check under RLock, insert
// later under Lock) every one of them passed the check: all logged in
// under deny, and all stayed up under replace.
func TestSingleSessionConcurrentLogins(t *testing.T) {
	// Kept small: the calls come from one source address, which per-source
	// call limits count.
	const n = 4
	for _, policy := range []aaa.SingleSession{aaa.SingleDeny, aaa.SingleReplace} {
		t.Run(policy.String(), func(t *testing.T) {
			var ba *barrierAuth
			r := newRig(t, func(c *Config) {
				c.SingleSession = policy
				ba = &barrierAuth{next: c.Authenticator, n: n, release: make(chan struct{})}
				c.Authenticator = ba
			})
			var wg sync.WaitGroup
			var ok atomic.Int32
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := r.dial(t, "alice", "alice-pw", nil); err == nil {
						ok.Add(1)
					}
				}()
			}
			wg.Wait()
			if got := ba.arrived.Load(); got != n {
				t.Fatalf("%d of %d logins reached the authenticator", got, n)
			}
			switch policy {
			case aaa.SingleDeny:
				if ok.Load() != 1 {
					t.Fatalf("%d concurrent logins of one user succeeded under deny, want 1", ok.Load())
				}
			case aaa.SingleReplace:
				if ok.Load() < 1 {
					t.Fatal("no login succeeded under replace")
				}
			}
			// Every refused or replaced call ends; one stays up.
			waitFor(t, func() bool { return len(r.srv.Sessions()) == 1 })
			st := r.srv.Stats()
			if st.PoolInUse != 1 {
				t.Fatalf("pool_in_use %d, want 1", st.PoolInUse)
			}
			if ips, users, calls := r.srv.addrState(); ips != 1 || users != 1 || calls != 1 {
				t.Fatalf("byIP %d byUser %d calls %d, want 1 each", ips, users, calls)
			}
			if s := r.srv.Sessions()[0]; s.User != "alice" || s.MPPE == "" {
				t.Fatalf("the survivor %+v is not up", s)
			}
		})
	}
}

// blackhole drops the GRE packets of chosen calls on a client's GRE
// connection, both ways: a peer that vanished without a word.
type blackhole struct {
	gre.Conn
	mu       sync.Mutex
	in, out  map[uint16]bool // keys of packets to the clients, from them
	droppedN atomic.Uint64
}

func (b *blackhole) cut(info Info) {
	b.mu.Lock()
	b.in[info.PeerCall], b.out[info.CallID] = true, true
	b.mu.Unlock()
}

func (b *blackhole) drop(keys map[uint16]bool, pkt []byte) bool {
	h, _, err := gre.Parse(pkt)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && keys[h.CallID] {
		b.droppedN.Add(1)
		return true
	}
	return false
}

func (b *blackhole) ReadBatch(msgs []gre.Message) (int, error) {
	n, err := b.Conn.ReadBatch(msgs)
	for i := range msgs[:n] {
		if b.drop(b.in, msgs[i].Buf[:msgs[i].N]) {
			msgs[i].N = 0
		}
	}
	return n, err
}

func (b *blackhole) WriteBatch(msgs []gre.Message) (int, error) {
	keep := make([]gre.Message, 0, len(msgs))
	for _, m := range msgs {
		if !b.drop(b.out, m.Buf[:m.N]) {
			keep = append(keep, m)
		}
	}
	if _, err := b.Conn.WriteBatch(keep); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// single_session = replace with a fixed address whose old peer vanished
// (the usual reason to log in again): the old link's LCP Terminate-Request
// goes unanswered for Max-Terminate restart periods, yet the new login
// gets the address, and the old session ending later does not take it
// (or its proxy-ARP entry) away from the new one.
func TestReplaceFixedAddressOfVanishedPeer(t *testing.T) {
	fixed := netip.MustParseAddr("10.79.97.77")
	bh := &blackhole{in: map[uint16]bool{}, out: map[uint16]bool{}}
	var mu sync.Mutex
	var events []bool // OnAddr for the fixed address, in order
	r := newRigGRE(t, func(c *Config) {
		c.OnAddr = func(a netip.Addr, up bool) {
			if a == fixed {
				mu.Lock()
				events = append(events, up)
				mu.Unlock()
			}
		}
	}, func(c gre.Conn) gre.Conn { bh.Conn = c; return bh })
	if _, err := r.dial(t, "carol", "carol-pw", nil); err != nil {
		t.Fatal(err)
	}
	infos := r.srv.Sessions()
	if len(infos) != 1 {
		t.Fatalf("sessions %+v", infos)
	}
	bh.cut(infos[0])
	got := make(chan []byte, 10)
	second, err := r.dial(t, "carol", "carol-pw", func(p []byte) { got <- append([]byte(nil), p...) })
	if err != nil {
		t.Fatalf("new login refused while the vanished session winds down: %v", err)
	}
	defer second.Close()
	if second.Addr() != fixed {
		t.Fatalf("second got %s", second.Addr())
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 1 })
	// The address is the new session's: traffic to it arrives, and the
	// pool counts it once.
	alice, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	if err := alice.WriteIP(udpPacket(alice.Addr(), fixed, []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p[28:]) != "hello" {
			t.Fatalf("got %q", p[28:])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("packet to the fixed address not delivered to the new session")
	}
	if n := r.srv.cfg.Pool.InUse(); n != 2 {
		t.Fatalf("pool in use %d, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) == 0 || !events[len(events)-1] {
		t.Fatalf("OnAddr events for %s: %v (the last must be up)", fixed, events)
	}
}
