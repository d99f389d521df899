package session

import (
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
)

// closeFor ends the session's link for a known cause, remembered for the
// accounting Stop.
func (ss *Session) closeFor(c aaa.Cause, reason string) {
	ss.cause.CompareAndSwap(0, uint32(c))
	ss.link.Close(reason)
}

// causeOf is the Acct-Terminate-Cause of a session that went down for
// reason: the one its closer set, else read from the PPP layer's reason.
func (ss *Session) causeOf(reason string) aaa.Cause {
	if c := aaa.Cause(ss.cause.Load()); c != 0 {
		return c
	}
	switch {
	case ss.cleared.Load(), strings.HasPrefix(reason, "LCP terminated by peer"):
		return aaa.CauseUserRequest
	case strings.HasPrefix(reason, "peer not responding"):
		return aaa.CauseLostCarrier
	}
	return aaa.CauseNASError
}

// record is the accounting view of the session now.
func (ss *Session) record() aaa.Record {
	r := aaa.Record{
		User: ss.user, Peer: ss.peer, IP: ss.ip, CallID: ss.callID, Result: ss.result,
		Up: ss.upAt, Trace: ss.pppTracer(),
		BytesIn: ss.bytesIn.Load(), BytesOut: ss.bytesOut.Load(),
		PktsIn: ss.pktsIn.Load(), PktsOut: ss.pktsOut.Load(),
	}
	end := time.Now()
	if t := ss.downAt.Load(); t != nil {
		end = *t
	}
	r.Time = end.Sub(ss.upAt)
	return r
}

// DisconnectCall ends the session whose call ID (ours) is callID, as
// Disconnect does for a user: for a RADIUS Disconnect-Request naming one
// session by its Acct-Session-Id. It reports whether such a session was up.
func (s *Server) DisconnectCall(callID uint16, reason string) bool {
	ss := s.callByID(callID)
	if ss == nil || !ss.wasUp.Load() {
		return false
	}
	ss.closeFor(aaa.CauseAdminReset, reason)
	return true
}
