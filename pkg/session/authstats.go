package session

import "sync/atomic"

// authStats count the logins the session layer refused or slowed: the
// single-session policy (assign) and the password-guessing guard
// (authguard.go). They are part of Stats.
type authStats struct {
	SingleSessionDenied atomic.Uint64 // single_session = deny refused a second login
	ReauthRefused       atomic.Uint64 // a second login on one call named another user
	DelayedFailures     atomic.Uint64 // Failures held back by the guard's backoff
	BlockedLogins       atomic.Uint64 // logins failed unchecked: source or source+user in backoff
	RefusedCalls        atomic.Uint64 // Outgoing-Call-Requests refused: source in backoff
}

// AuthCounters is the snapshot of authStats, with the guard's table sizes.
type AuthCounters struct {
	SingleSessionDenied uint64 `json:"single_session_denied"`
	ReauthRefused       uint64 `json:"reauth_refused"`
	DelayedFailures     uint64 `json:"guard_delayed_failures"`
	BlockedLogins       uint64 `json:"guard_blocked_logins"`
	RefusedCalls        uint64 `json:"guard_refused_calls"`
	// Entries the guard tracks (bounded by its config).
	GuardSources int `json:"guard_sources"`
	GuardUsers   int `json:"guard_users"`
	GuardPairs   int `json:"guard_pairs"`
}

func (a *authStats) snapshot() AuthCounters {
	return AuthCounters{
		SingleSessionDenied: a.SingleSessionDenied.Load(),
		ReauthRefused:       a.ReauthRefused.Load(),
		DelayedFailures:     a.DelayedFailures.Load(),
		BlockedLogins:       a.BlockedLogins.Load(),
		RefusedCalls:        a.RefusedCalls.Load(),
	}
}
