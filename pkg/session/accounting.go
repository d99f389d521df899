package session

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Accounting is told when a session starts service (its address is up) and
// when it ends: what RADIUS accounting (RFC 2866) reports. pkg/radius
// implements it. Both calls run on the link's callback path and must not
// block: an implementation queues its network work.
type Accounting interface {
	// Start is called once, when the session is up with its address.
	// snap reads the live record (counters, duration) for interim
	// updates; it stays valid after Stop (the counters freeze).
	Start(r Record, snap func() Record)
	// Stop is called once for every started session, when it has ended.
	Stop(r Record)
}

// Record is a session as accounting sees it.
type Record struct {
	User   string
	Peer   netip.Addr // the PPTP client's address (Calling-Station-Id)
	IP     netip.Addr // the address the peer was given (Framed-IP-Address)
	CallID uint16     // our call ID (the NAS port)
	// Result is the authenticator's verdict the session was started with;
	// it identifies the login to the authenticator (Class, session id).
	Result *ppp.AuthResult
	Up     time.Time     // when the session came up
	Time   time.Duration // service time so far (Acct-Session-Time)
	// In is from the peer, Out to the peer: IP packets and their octets.
	BytesIn, BytesOut, PktsIn, PktsOut uint64
	Cause                              Cause  // Stop only
	Reason                             string // Stop only: the log's reason
}

// Cause is why a session ended. The values are RFC 2866 §5.10's
// Acct-Terminate-Cause numbers: the vocabulary every NAS reports in.
type Cause uint32

const (
	CauseUserRequest    Cause = 1  // the peer ended it (LCP Terminate, call cleared)
	CauseLostCarrier    Cause = 2  // the peer stopped answering
	CauseIdleTimeout    Cause = 4  // AuthResult.IdleTimeout
	CauseSessionTimeout Cause = 5  // AuthResult.SessionTimeout
	CauseAdminReset     Cause = 6  // Disconnect (CLI, RADIUS Disconnect-Request)
	CauseAdminReboot    Cause = 7  // the server is shutting down
	CauseNASError       Cause = 9  // anything else on our side
	CausePortPreempted  Cause = 13 // a new login of the same user replaced it
)

func (c Cause) String() string {
	switch c {
	case CauseUserRequest:
		return "User-Request"
	case CauseLostCarrier:
		return "Lost-Carrier"
	case CauseIdleTimeout:
		return "Idle-Timeout"
	case CauseSessionTimeout:
		return "Session-Timeout"
	case CauseAdminReset:
		return "Admin-Reset"
	case CauseAdminReboot:
		return "Admin-Reboot"
	case CauseNASError:
		return "NAS-Error"
	case CausePortPreempted:
		return "Port-Preempted"
	}
	return "Cause(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// closeFor ends the session's link for a known cause, remembered for the
// accounting Stop.
func (ss *Session) closeFor(c Cause, reason string) {
	ss.cause.CompareAndSwap(0, uint32(c))
	ss.link.Close(reason)
}

// causeOf is the Acct-Terminate-Cause of a session that went down for
// reason: the one its closer set, else read from the PPP layer's reason.
func (ss *Session) causeOf(reason string) Cause {
	if c := Cause(ss.cause.Load()); c != 0 {
		return c
	}
	switch {
	case ss.cleared.Load(), strings.HasPrefix(reason, "LCP terminated by peer"):
		return CauseUserRequest
	case strings.HasPrefix(reason, "peer not responding"):
		return CauseLostCarrier
	}
	return CauseNASError
}

// record is the accounting view of the session now.
func (ss *Session) record() Record {
	r := Record{
		User: ss.user, Peer: ss.peer, IP: ss.ip, CallID: ss.callID, Result: ss.result,
		Up:      ss.upAt,
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
	ss.closeFor(CauseAdminReset, reason)
	return true
}
