package aaa

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Accounting is told when a session starts service (its address is up) and
// when it ends: what RADIUS accounting (RFC 2866) reports. pkg/session
// calls it and pkg/radius implements it; it lives here so that neither
// needs the other. Both calls run on the link's callback path and must not
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
	// Trace is the traced session's tracer (the operator's `trace`), nil
	// for an untraced one: accounting may add its requests and replies.
	Trace ppp.Tracer
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
