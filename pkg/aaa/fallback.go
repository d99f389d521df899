package aaa

import (
	"context"
	"log/slog"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Fallback asks Primary (RADIUS) first and Secondary (the local user
// table) only when Primary could give no verdict at all: an error, which
// for RADIUS means no server answered. A reject from Primary is final: a
// user refused by the servers must not get in with a stale local password.
type Fallback struct {
	Primary, Secondary ppp.Authenticator
	Logger             *slog.Logger // nil: no log
}

// Authenticate implements ppp.Authenticator.
func (f Fallback) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	res, err := f.Primary.Authenticate(ctx, req)
	if err == nil || ctx.Err() != nil {
		return res, err
	}
	if f.Logger != nil {
		f.Logger.Warn("primary authenticator failed: checking local users", "user", req.User, "peer", req.Peer.String(), "err", err)
	}
	if t := req.Trace; t != nil && t.Tracing() {
		t.Trace("auth", "", "no verdict from RADIUS: checking the local user table")
	}
	return f.Secondary.Authenticate(ctx, req)
}
