package session

import "github.com/pptpbox/pptpbox/pkg/aaa"

// Disconnect ends every session of user (the CLI's and RADIUS DAE's
// disconnect). It reports how many it ended.
func (s *Server) Disconnect(user, reason string) int {
	s.mu.RLock()
	list := append([]*Session(nil), s.byUser[user]...)
	s.mu.RUnlock()
	for _, ss := range list {
		ss.closeFor(aaa.CauseAdminReset, reason)
	}
	return len(list)
}

// DisconnectWhere ends every session whose user name, as its peer sent it,
// satisfies match: what a reload does for users it removed or whose
// password changed. Each ends as Disconnect's do (Admin-Reset, RFC 2866
// §5.10); it returns what they were.
func (s *Server) DisconnectWhere(match func(user string) bool, reason string) []Info {
	s.mu.RLock()
	var list []*Session
	for user, sessions := range s.byUser {
		if match(user) {
			list = append(list, sessions...)
		}
	}
	out := make([]Info, 0, len(list))
	for _, ss := range list {
		out = append(out, ss.Info())
	}
	s.mu.RUnlock()
	for _, ss := range list {
		ss.closeFor(aaa.CauseAdminReset, reason)
	}
	return out
}
