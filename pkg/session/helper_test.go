package session

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// authFunc adapts a function to ppp.Authenticator.
type authFunc func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error)

func (f authFunc) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	return f(ctx, req)
}

var testUsers = aaa.NewLocal([]aaa.LocalUser{
	{Name: "alice", Password: "alice-pw"},
	{Name: "carol", Password: "carol-pw"},
})

// waitGoroutines waits until the goroutine count is back to at most base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addrState reports what the server holds for addresses and users.
func (s *Server) addrState() (byIP, byUser, calls int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byIP), len(s.byUser), len(s.calls)
}
