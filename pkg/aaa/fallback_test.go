package aaa

import (
	"context"
	"errors"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

type fixedAuth struct {
	res   *ppp.AuthResult
	err   error
	calls int
}

func (f *fixedAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	f.calls++
	return f.res, f.err
}

func TestFallback(t *testing.T) {
	accept := &ppp.AuthResult{OK: true}
	reject := &ppp.AuthResult{Message: "no"}
	unreachable := errors.New("radius: no RADIUS server answered")
	for _, tc := range []struct {
		name          string
		primary       fixedAuth
		wantOK        bool
		wantErr       bool
		wantSecondary bool
	}{
		{"primary accepts", fixedAuth{res: accept}, true, false, false},
		{"primary rejects: final", fixedAuth{res: reject}, false, false, false},
		{"primary unreachable: local", fixedAuth{err: unreachable}, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := tc.primary, fixedAuth{res: accept}
			res, err := Fallback{Primary: &p, Secondary: &s}.Authenticate(context.Background(), &ppp.AuthRequest{User: "u"})
			if (err != nil) != tc.wantErr || (res != nil && res.OK) != tc.wantOK || (s.calls == 1) != tc.wantSecondary {
				t.Errorf("res %+v err %v secondary calls %d", res, err, s.calls)
			}
		})
	}
	// A cancelled login does not fall through.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, s := fixedAuth{err: context.Canceled}, fixedAuth{res: accept}
	if _, err := (Fallback{Primary: &p, Secondary: &s}).Authenticate(ctx, &ppp.AuthRequest{}); err == nil || s.calls != 0 {
		t.Errorf("cancelled: err %v, secondary calls %d", err, s.calls)
	}
}
