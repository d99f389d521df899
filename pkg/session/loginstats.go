package session

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Login outcomes and traffic totals for monitoring (boxd's /metrics): the
// logins that came up, the ones refused by reason, and the bytes and
// packets of every session since the server started. Nothing here is on
// the packet path: the counters move once per login, the totals once per
// session end (remove), and Totals sums the live sessions when asked.

// Login failure reasons (Totals.Failures).
const (
	FailBadPassword   = ppp.RefusalBadPassword  // the local table's password did not match
	FailUnknownUser   = ppp.RefusalUnknownUser  // no such user in the local table
	FailRadiusReject  = ppp.RefusalRadiusReject // the RADIUS server refused
	FailRadiusTimeout = "radius_timeout"        // no RADIUS server answered (and no fallback)
	FailRefused       = "refused"               // an authenticator refused without saying why
	FailGuardBlocked  = "guard_blocked"         // failed unchecked: source or source+user in backoff
	FailSingleSession = "single_session_denied" // single_session = deny and the user is on
	FailReauth        = "reauth_refused"        // a second login on one call named another user
	FailNoAddress     = "no_address"            // pool exhausted, or the fixed address in use
	FailAborted       = "aborted"               // the link went down while the login was checked
)

// FailureReasons lists the reasons in the order Totals reports them.
var FailureReasons = []string{FailBadPassword, FailUnknownUser, FailRadiusReject, FailRadiusTimeout,
	FailRefused, FailGuardBlocked, FailSingleSession, FailReauth, FailNoAddress, FailAborted}

// loginStats count the verdicts the authenticator gave (countingAuth) and
// the logins assign refused after it; the guard's, single-session and
// re-authentication refusals are counted in authStats already.
type loginStats struct {
	badPassword, unknownUser, radiusReject, radiusTimeout, refused, noAddress, aborted atomic.Uint64
	// up counts the sessions whose network phase came up (onUp).
	up atomic.Uint64
}

// traffic is the bytes and packets of the sessions that ended; under
// Server.mu, added by remove.
type traffic struct{ bytesIn, bytesOut, pktsIn, pktsOut uint64 }

func (t *traffic) add(ss *Session) {
	t.bytesIn += ss.bytesIn.Load()
	t.bytesOut += ss.bytesOut.Load()
	t.pktsIn += ss.pktsIn.Load()
	t.pktsOut += ss.pktsOut.Load()
}

// Totals is the monitoring view of the server.
type Totals struct {
	// Up is the sessions whose network phase is up, Starting the calls
	// still negotiating or logging in.
	Up, Starting int
	// LoginsOK is the logins that came up since the server started.
	LoginsOK uint64
	// Failures is each reason of FailureReasons with its count, in that
	// order.
	Failures []ReasonCount
	// Traffic of every session since the server started: the ended ones'
	// totals plus the live ones' counters, so the figures never go down.
	// In is from the clients (received over GRE), Out is to them.
	BytesIn, BytesOut, PktsIn, PktsOut uint64
}

// ReasonCount is one failure reason and its count.
type ReasonCount struct {
	Reason string
	Count  uint64
}

// Totals returns the login counters and traffic totals.
func (s *Server) Totals() Totals {
	ls, a := &s.stats.Login, &s.stats.Auth
	t := Totals{LoginsOK: ls.up.Load()}
	// In the order of FailureReasons.
	for _, c := range []*atomic.Uint64{&ls.badPassword, &ls.unknownUser, &ls.radiusReject, &ls.radiusTimeout,
		&ls.refused, &a.BlockedLogins, &a.SingleSessionDenied, &a.ReauthRefused, &ls.noAddress, &ls.aborted} {
		t.Failures = append(t.Failures, ReasonCount{FailureReasons[len(t.Failures)], c.Load()})
	}
	s.mu.RLock()
	sum := s.ended
	for _, ss := range s.calls {
		sum.add(ss)
		if ss.wasUp.Load() {
			t.Up++
		} else {
			t.Starting++
		}
	}
	s.mu.RUnlock()
	t.BytesIn, t.BytesOut, t.PktsIn, t.PktsOut = sum.bytesIn, sum.bytesOut, sum.pktsIn, sum.pktsOut
	return t
}

// countingAuth counts the verdicts of the authenticator it wraps.
type countingAuth struct {
	s    *Server
	next ppp.Authenticator
}

func (ca countingAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	if ca.next == nil {
		return nil, fmt.Errorf("no authenticator configured")
	}
	res, err := ca.next.Authenticate(ctx, req)
	ls := &ca.s.stats.Login
	switch {
	case ctx.Err() != nil:
		ls.aborted.Add(1)
	case err != nil || res == nil:
		// No verdict: the only authenticator that fails this way is
		// RADIUS with no server answering (the local table never does).
		ls.radiusTimeout.Add(1)
	case res.OK:
	case res.Refusal == ppp.RefusalBadPassword:
		ls.badPassword.Add(1)
	case res.Refusal == ppp.RefusalUnknownUser:
		ls.unknownUser.Add(1)
	case res.Refusal == ppp.RefusalRadiusReject:
		ls.radiusReject.Add(1)
	default:
		ls.refused.Add(1)
	}
	return res, err
}
