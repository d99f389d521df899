package session

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
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
