package session

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// slowAuth is a RADIUS-like authenticator that blocks until released and
// ignores its context (as a server stuck in a round trip would), then
// accepts the credentials the local table accepts.
type slowAuth struct {
	entered chan struct{} // one value per call, when it starts blocking
	release chan struct{} // closed to let every call finish
}

func newSlowAuth() *slowAuth {
	return &slowAuth{entered: make(chan struct{}, 8), release: make(chan struct{})}
}

func (a *slowAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	a.entered <- struct{}{}
	<-a.release
	return testUsers.Authenticate(context.Background(), req)
}

// A session that ends while its authenticator is still blocking must not
// take an address when the verdict finally comes: nothing would ever give
// it back, and with single_session = deny the user would be locked out.
func TestSessionEndsDuringSlowAuth(t *testing.T) {
	auth := newSlowAuth()
	r := newRig(t, func(c *Config) {
		c.Authenticator = auth
		c.SingleSession = aaa.SingleDeny
	})
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan error, 1)
	go func() {
		_, err := r.mux.Dial(ctx, clientConfig(r, "alice", "alice-pw"))
		dialed <- err
	}()
	<-auth.entered
	cancel() // the client gives up: LCP Terminate-Request, Call-Clear-Request
	if err := <-dialed; err == nil {
		t.Fatal("dial succeeded")
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	base := runtime.NumGoroutine()
	close(auth.release)
	// The authentication goroutine runs Config.Network and ends.
	waitGoroutines(t, base-1)
	if ip, users, calls := r.srv.addrState(); ip != 0 || users != 0 || calls != 0 {
		t.Fatalf("after the late verdict: %d addresses, %d users, %d calls held", ip, users, calls)
	}
	if n := r.srv.cfg.Pool.InUse(); n != 0 {
		t.Fatalf("pool: %d addresses in use", n)
	}
	// The user can log in again.
	r.srv.cfg.Authenticator = testUsers
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// Shutdown must not wait for an authenticator that does not return, and
// once it has returned nothing of the server may remain.
func TestShutdownDuringSlowAuth(t *testing.T) {
	base := runtime.NumGoroutine()
	auth := newSlowAuth()
	r := newRig(t, func(c *Config) { c.Authenticator = auth })
	go r.mux.Dial(context.Background(), clientConfig(r, "alice", "alice-pw"))
	<-auth.entered
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(shutdownTimeout + 3*time.Second):
		t.Fatal("Serve did not return while the authenticator blocked")
	}
	r.done <- nil
	t.Logf("shutdown took %v", time.Since(start).Round(time.Millisecond))
	close(auth.release)
	r.mux.Close()
	waitGoroutines(t, base)
	if n := r.srv.cfg.Pool.InUse(); n != 0 {
		t.Fatalf("pool: %d addresses in use after shutdown", n)
	}
}
