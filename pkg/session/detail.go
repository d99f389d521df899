package session

import (
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Detail is a session in full, for the operator's "show session": its
// Info, where its control connection comes from, what its link
// negotiated, the link's counters and the authenticator's verdict.
type Detail struct {
	Info
	PeerAddr   netip.AddrPort // the control connection's source
	Up         bool           // the network phase came up
	Negotiated ppp.Negotiated
	Link       ppp.Stats
	// Result is the authenticator's verdict of the login (nil until the
	// session is up): the caller may ask the authenticator about it (the
	// RADIUS client's Access-Accept), and must not change it.
	Result *ppp.AuthResult
}

// Details describes every session, as Sessions does, in full.
func (s *Server) Details() []Detail {
	s.mu.RLock()
	list := make([]*Session, 0, len(s.calls))
	for _, ss := range s.calls {
		list = append(list, ss)
	}
	out := make([]Detail, 0, len(list))
	for _, ss := range list {
		out = append(out, Detail{Info: ss.Info()})
	}
	s.mu.RUnlock()
	// The link's own lock is taken outside s.mu: the link's callbacks
	// (onDown → remove) take s.mu while the link may be locked.
	for i, ss := range list {
		out[i].fill(ss)
	}
	return out
}

func (d *Detail) fill(ss *Session) {
	d.PeerAddr = ss.ctrl.RemoteAddr()
	d.Negotiated = ss.link.Negotiated()
	d.Link = ss.link.Stats()
	// result is written by onUp before wasUp: reading wasUp first makes
	// the read of result see that write.
	if ss.wasUp.Load() {
		d.Up = true
		d.Result = ss.result
	}
}

// EndCall ends the session whose call ID (ours) is callID, at whatever
// phase it is, as Disconnect does (Acct-Terminate-Cause Admin-Reset for the
// accounting Stop of a session that was up). It returns what the session
// was, and false when there is no such call.
func (s *Server) EndCall(callID uint16, reason string) (Info, bool) {
	s.mu.RLock()
	ss := s.calls[callID]
	var i Info
	if ss != nil {
		i = ss.Info()
	}
	s.mu.RUnlock()
	if ss == nil {
		return Info{}, false
	}
	ss.closeFor(aaa.CauseAdminReset, reason)
	return i, true
}
