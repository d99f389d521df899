package session

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/client"
)

// TestAbortedLoginsLeaveNothing: clients that vanish at each point of a
// login (client.Abort: after SCCRQ, mid-LCP, mid-auth, mid-CCP: the
// control socket closed with nothing said, no more GRE) leave no session,
// control connection, pool address or goroutine behind, and a normal
// login works afterwards. The in-process counterpart of cmd/boxd's
// TestBoxdChurn, run under -race.
func TestAbortedLoginsLeaveNothing(t *testing.T) {
	t.Run("closing", func(t *testing.T) { testAbortedLogins(t, false) })
	// Silent clients keep their control connection open: the server's
	// login timeout must end their calls.
	t.Run("silent", func(t *testing.T) { testAbortedLogins(t, true) })
}

func testAbortedLogins(t *testing.T, silent bool) {
	r := newRig(t, func(c *Config) { c.SingleSession = aaa.SingleOff; c.LoginTimeout = time.Second })
	// A first login and hang-up starts what lives as long as the server
	// (its GRE and TUN loops): the baseline is taken after it.
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitClean(t, r, "after the first login")
	base := settledGoroutines(0)

	const perPoint = 10
	for _, at := range client.Aborts {
		var wg sync.WaitGroup
		errs := make(chan error, perPoint)
		for range perPoint {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cfg := clientConfig(r, "alice", "alice-pw")
				cfg.AbortAt = at
				cfg.AbortSilent = silent
				c, err := r.mux.Dial(ctx, cfg)
				if err == nil {
					c.Close()
					err = errors.New("dial succeeded")
				}
				if !errors.Is(err, client.ErrAborted) {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("abort %v: %v", at, err)
		}
		waitClean(t, r, "after aborts "+at.String())
	}
	if n := settledGoroutines(base); n > base {
		t.Errorf("%d goroutines, %d before the aborted logins:\n%s", n, base, goroutineDump())
	}

	c, err = r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatalf("a login after the aborted ones: %v", err)
	}
	c.Close()
	waitClean(t, r, "after the last login")
}

// waitClean waits until the server holds no session, control connection
// or pool address.
func waitClean(t *testing.T, r *rig, when string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := r.srv.Stats()
		if st.Sessions == 0 && st.Conns == 0 && st.PoolInUse == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: sessions %d, control connections %d, pool in use %d after 30s", when, st.Sessions, st.Conns, st.PoolInUse)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledGoroutines waits (up to 10s) for the goroutine count to reach
// want (0: to stop changing) and returns it: goroutines of ended calls
// take a moment to return.
func settledGoroutines(want int) int {
	n, last := runtime.NumGoroutine(), -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if (want > 0 && n <= want) || (want == 0 && n == last) {
			return n
		}
		last = n
		time.Sleep(100 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return fmt.Sprintf("%s", buf[:runtime.Stack(buf, true)])
}
