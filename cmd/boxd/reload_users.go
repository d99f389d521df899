package main

import (
	"log/slog"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// staleUsers are the [[user]] names a reload from old to new takes a login
// away from, with why: removed, or the password or the fixed address
// changed. Their running sessions were granted on credentials (or an
// address) that no longer hold. Both lists are of validated configs, which
// name each user once (config.validateUsers).
func staleUsers(old, new []config.User) map[string]string {
	now := make(map[string]config.User, len(new))
	for _, u := range new {
		now[u.Name] = u
	}
	stale := map[string]string{}
	for _, u := range old {
		n, ok := now[u.Name]
		switch {
		case !ok:
			stale[u.Name] = "user removed"
		case n.Password != u.Password:
			stale[u.Name] = "password changed"
		case n.FixedAddr() != u.FixedAddr():
			stale[u.Name] = "fixed address changed"
		}
	}
	return stale
}

// endStaleSessions ends (and returns) the sessions of the users a reload
// removed or changed (Admin-Reset; RADIUS accounting reports Acct-Terminate-Cause
// Admin-Reset) and logs each. A session's name is matched as the local
// table matches it: exactly, or without a Windows "DOMAIN\" prefix. With
// RADIUS and no fallback_local the table logs no one in, so nothing ends.
func endStaleSessions(log *slog.Logger, srv *session.Server, running *config.Config, old, new []config.User) []session.Info {
	if srv == nil || (running.RadiusEnabled() && !running.Radius.FallbackLocal) {
		return nil
	}
	stale := staleUsers(old, new)
	if len(stale) == 0 {
		return nil
	}
	why := func(user string) (string, bool) {
		if w, ok := stale[user]; ok {
			return w, true
		}
		w, ok := stale[mschap.StripDomain(user)]
		return w, ok
	}
	ended := srv.DisconnectWhere(func(user string) bool { _, ok := why(user); return ok }, "user changed by a config reload")
	for _, in := range ended {
		w, _ := why(in.User)
		log.Warn("reload: session ended", "user", in.User, "why", w, "ip", in.IP, "peer", in.Peer, "call", in.CallID, "cause", aaa.CauseAdminReset.String())
	}
	return ended
}
