package session

import (
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// Change is what a RADIUS CoA-Request (RFC 5176 §3.1) changes on a live
// session; nil fields stay as they are.
type Change struct {
	// RateLimit replaces the rate limit (the zero Limit lifts it).
	RateLimit *ratelimit.Limit
	// SessionTimeout ends the session this long from now; 0 removes the
	// limit.
	SessionTimeout *time.Duration
}

// ChangeCall applies c to the session with our call ID callID and reports
// whether there was such a session up.
func (s *Server) ChangeCall(callID uint16, c Change) bool {
	ss := s.callByID(callID)
	return ss != nil && ss.change(c)
}

// ChangeUser applies c to every session of user that is up and reports
// how many it changed.
func (s *Server) ChangeUser(user string, c Change) int {
	s.mu.RLock()
	list := append([]*Session(nil), s.byUser[user]...)
	s.mu.RUnlock()
	n := 0
	for _, ss := range list {
		if ss.change(c) {
			n++
		}
	}
	return n
}

// change applies c if the session is up (between onUp and onDown).
func (ss *Session) change(c Change) bool {
	ss.policyMu.Lock()
	defer ss.policyMu.Unlock()
	if !ss.policyUp {
		return false
	}
	var attrs []any
	if c.RateLimit != nil {
		ss.SetRateLimit(*c.RateLimit)
		attrs = append(attrs, "rate_limit", c.RateLimit.String())
	}
	if c.SessionTimeout != nil {
		ss.setSessionTimeout(*c.SessionTimeout)
		attrs = append(attrs, "session_timeout", *c.SessionTimeout)
	}
	ss.srv.log.Info("session changed", append([]any{"user", ss.user, "call", ss.callID}, attrs...)...)
	return true
}

// setSessionTimeout (re)arms the session's end d from now; 0 disarms it.
// Called with policyMu held.
func (ss *Session) setSessionTimeout(d time.Duration) {
	if ss.limitTimer != nil {
		ss.limitTimer.Stop()
		ss.limitTimer = nil
	}
	if d > 0 {
		ss.limitTimer = time.AfterFunc(d, func() { ss.closeFor(aaa.CauseSessionTimeout, "session timeout") })
	}
}
