package session

import (
	"context"
	"fmt"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// Password-guessing backoff (Config.Guard, pkg/authguard): failed logins
// delay their Failure, and a source or (source, user) in backoff has its
// logins failed unchecked and, for a source, its new calls refused.

// msgBackoff is the Failure text of a login failed unchecked: a legitimate
// user learns to wait rather than to doubt their password.
const msgBackoff = "Too many failed logins; try again later"

// authenticator is what the links authenticate with: Config.Authenticator,
// its verdicts counted (countingAuth, loginstats.go), behind the guard when
// there is one.
func (s *Server) authenticator() ppp.Authenticator {
	if s.cfg.Authenticator == nil && s.cfg.Guard == nil {
		return nil
	}
	counted := countingAuth{s, s.cfg.Authenticator}
	if s.cfg.Guard == nil {
		return counted
	}
	return guardedAuth{s, counted}
}

type guardedAuth struct {
	s    *Server
	next ppp.Authenticator
}

func (ga guardedAuth) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	s, g := ga.s, ga.s.cfg.Guard
	src := req.Peer.Addr().Unmap()
	if why, blocked := g.Blocked(src, req.User); blocked {
		v := g.Failure(src, req.User)
		s.stats.Auth.BlockedLogins.Add(1)
		s.log.Warn("login failed unchecked: in backoff", "user", req.User, "peer", src.String(), "blocked", why,
			"failures_source", v.Source, "failures_user", v.User, "failures_pair", v.Pair, "delay", v.Delay.String())
		if t := req.Trace; t != nil && t.Tracing() {
			t.Trace("auth", "", fmt.Sprintf("refused unchecked: in backoff (%s); failure answered after %v", why, v.Delay))
		}
		return holdFailure(ctx, v.Delay, &ppp.AuthResult{Message: msgBackoff})
	}
	res, err := ga.next.Authenticate(ctx, req)
	if err != nil || res == nil {
		return res, err // no verdict (RADIUS unreachable): not the peer's failure
	}
	if res.OK {
		g.Success(src, req.User)
		return res, nil
	}
	v := g.Failure(src, req.User)
	if v.Delay > 0 {
		s.stats.Auth.DelayedFailures.Add(1)
		s.log.Warn("login failure delayed: backoff", "user", req.User, "peer", src.String(),
			"failures_source", v.Source, "failures_user", v.User, "failures_pair", v.Pair,
			"delay", v.Delay.String(), "source_refused_for", v.SourceRefused.String())
		if t := req.Trace; t != nil && t.Tracing() {
			t.Trace("auth", "", fmt.Sprintf("failure answered after %v (password-guessing backoff)", v.Delay))
		}
	}
	return holdFailure(ctx, v.Delay, res)
}

// holdFailure returns res after d, or the context's error if the link goes
// down first.
func holdFailure(ctx context.Context, d time.Duration, res *ppp.AuthResult) (*ppp.AuthResult, error) {
	if d <= 0 {
		return res, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refuseGuarded refuses a new call from a source in backoff: RFC 2637
// §2.8 result 7 (Do-Not-Accept, "administratively prohibited"). The
// source may repeat the request as fast as it likes: every refusal is
// counted, the log line is written at most once a second.
func (s *Server) refuseGuarded(c *pptp.Conn) error {
	g := s.cfg.Guard
	if g == nil {
		return nil
	}
	src := c.RemoteAddr().Addr().Unmap()
	left, refused := g.Refused(src)
	if !refused {
		return nil
	}
	s.stats.Auth.RefusedCalls.Add(1)
	if ok, sup := s.lim.logGuard.Allow(time.Now()); ok {
		s.log.Warn("call refused: source in login backoff", "peer", src.String(), "for", left.Round(time.Millisecond).String(),
			"guard_refused_calls", s.stats.Auth.RefusedCalls.Load(), "suppressed", sup)
	}
	return fmt.Errorf("source %s in login backoff for %s: %w", src, left.Round(time.Millisecond), pptp.ErrDoNotAccept)
}

// guardLen fills the guard's table sizes into a stats snapshot.
func (s *Server) guardLen(a *AuthCounters) {
	if g := s.cfg.Guard; g != nil {
		a.GuardSources, a.GuardUsers, a.GuardPairs = g.Len()
	}
}
