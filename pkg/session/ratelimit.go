package session

import (
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// The per-session rate limit. Each direction has a token bucket
// (ratelimit.Bucket) that polices it in the packet path: rx in onIP
// (receive.go), before the packet is queued for TUN, tx in routeToSession
// (send.go), before it is encrypted. Each bucket is used by the one
// goroutine of its path, so there is no lock; with no limit the check is
// one atomic load. The limit comes from the AuthResult (RADIUS
// Mikrotik-Rate-Limit or WISPr-Bandwidth-Max-Up/Down, [[user]] rate_limit),
// else Config.RateLimit ([pptp] rate_limit); SetRateLimit changes it on a
// live session (RADIUS CoA).

// startRateLimit sets the session's limit when its link comes up.
func (ss *Session) startRateLimit(res *ppp.AuthResult) {
	l := ss.srv.cfg.RateLimit
	if res != nil && res.RateLimit != "" {
		got, err := ratelimit.Parse(res.RateLimit)
		if err != nil {
			// The authenticators check it; keep the default rather than
			// none, and say so.
			ss.srv.log.Warn("rate limit not understood, the default applies", "call", ss.callID,
				"rate_limit", res.RateLimit, "err", err)
		} else {
			l = got
		}
	}
	ss.SetRateLimit(l)
}

// SetRateLimit puts l in force on the session at once (the zero Limit
// lifts it). Safe on any goroutine.
func (ss *Session) SetRateLimit(l ratelimit.Limit) {
	ss.rx.Set(l.Rate.Rx, l.RxBucket())
	ss.tx.Set(l.Rate.Tx, l.TxBucket())
	if l.IsZero() {
		ss.limit.Store(nil)
		return
	}
	ss.limit.Store(&l)
}

// RateLimit is the limit in force; the zero Limit when none.
func (ss *Session) RateLimit() ratelimit.Limit {
	if l := ss.limit.Load(); l != nil {
		return *l
	}
	return ratelimit.Limit{}
}
