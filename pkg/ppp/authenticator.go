package ppp

import (
	"context"
	"net/netip"
	"time"
)

// AuthProto names a PPP authentication protocol as negotiated in the LCP
// Authentication-Protocol option (RFC 1661 §6.2, RFC 1994, RFC 2433, RFC 2759).
type AuthProto int

const (
	AuthNone AuthProto = iota
	AuthPAP
	AuthCHAPMD5
	AuthMSCHAPv1
	AuthMSCHAPv2
)

func (p AuthProto) String() string {
	switch p {
	case AuthNone:
		return "none"
	case AuthPAP:
		return "pap"
	case AuthCHAPMD5:
		return "chap"
	case AuthMSCHAPv1:
		return "mschap"
	case AuthMSCHAPv2:
		return "mschapv2"
	}
	return "unknown"
}

// authLabel spells protocols as pppd's log lines do ("MS-CHAPv2").
func authLabel(p AuthProto) string {
	switch p {
	case AuthPAP:
		return "PAP"
	case AuthCHAPMD5:
		return "CHAP"
	case AuthMSCHAPv1:
		return "MS-CHAP"
	case AuthMSCHAPv2:
		return "MS-CHAPv2"
	}
	return p.String()
}

// ParseAuthProto maps the config / pppd spelling ("pap", "chap", "mschap",
// "mschapv2", also "ms-chap-v2") to an AuthProto.
func ParseAuthProto(s string) (AuthProto, bool) {
	switch s {
	case "pap":
		return AuthPAP, true
	case "chap", "chap-md5":
		return AuthCHAPMD5, true
	case "mschap", "ms-chap", "mschapv1":
		return AuthMSCHAPv1, true
	case "mschapv2", "ms-chap-v2", "mschap-v2":
		return AuthMSCHAPv2, true
	}
	return AuthNone, false
}

// AuthRequest is what the server side of a link learned from the peer's
// authentication packet. Only the fields of Proto are set.
type AuthRequest struct {
	Proto AuthProto
	User  string
	// PAP: the cleartext password (RFC 1334).
	Password []byte
	// CHAP-MD5 (RFC 1994): Ident and Challenge sent by us, Response (16 bytes) from the peer.
	// MS-CHAPv1 (RFC 2433): Challenge (8 bytes) sent by us, Response is the 49-byte value.
	// MS-CHAPv2 (RFC 2759): Challenge is our 16-byte authenticator challenge,
	// Response is the peer's 49-byte response value (peer challenge, reserved,
	// NT-Response, flags).
	Ident     uint8
	Challenge []byte
	Response  []byte
	// Peer is the transport peer (PPTP client address), for logs and NAS attributes.
	Peer netip.AddrPort
	// Trace, when set, is the traced link's Tracer: an Authenticator may
	// add its own lines (RADIUS request and reply, secrets masked) when
	// Trace.Tracing(). Nil for an untraced link.
	Trace Tracer
}

// AuthResult is the verdict of an Authenticator. A rejected login is a
// result with OK false and an error of nil; err is kept for "could not ask"
// (RADIUS unreachable and no fallback), which the link treats as a failure too.
type AuthResult struct {
	OK bool
	// Message is the human text for the Failure/Success message (M=... for MS-CHAPv2).
	Message string
	// FailureCode is the E= of an MS-CHAP Failure (RFC 2759 §6: 646
	// restricted hours, 647 account disabled, 648 password expired, 649 no
	// dial-in permission, 691 authentication failure); 0 means 691. Only
	// 691 lets the peer retry on the same link.
	FailureCode int
	// Refusal says why OK is false, for counters and logs; it is never
	// sent to the peer. The authenticators use the Refusal* values; ""
	// when they do not say.
	Refusal string
	// AuthenticatorResponse is the MS-CHAPv2 "S=<40 hex>" string (RFC 2759 §8.7).
	AuthenticatorResponse string
	// MPPESendKey and MPPERecvKey are the MPPE master keys from the server's
	// point of view (send = server to peer), 16 bytes each, as RFC 3079 §3.3
	// derives them or as RADIUS MS-MPPE-Send-Key/MS-MPPE-Recv-Key carry them.
	MPPESendKey, MPPERecvKey []byte
	// Optional per-user settings; zero values mean "use the config".
	FramedIP       netip.Addr    // fixed address for the peer
	SessionTimeout time.Duration // hard limit on the session
	IdleTimeout    time.Duration
	// RateLimit is the session's rate limit in Mikrotik-Rate-Limit syntax
	// (pkg/ratelimit reads it; RADIUS WISPr bandwidth is written in it
	// too); "" means the config's.
	RateLimit string
	// Routes are the subnets routed through the peer (a site-to-site
	// client's LAN), each in Framed-Route text (RFC 2865 §5.22, "prefix
	// [gateway [metric]]"; pkg/ippool ParseRoute reads it).
	Routes []string
	// MPPERequired tightens (never loosens) the configured MPPE policy.
	MPPERequired bool
	// Class and other opaque attributes the accounting layer echoes back.
	Class [][]byte
	// Source names what gave the verdict, for the operator: "radius",
	// "local". Attributes are what its answer carried, printed (RADIUS:
	// the Access-Accept's attributes, secrets and keys masked).
	Source     string
	Attributes []AuthAttribute
}

// AuthAttribute is one attribute of an authenticator's answer, printed.
type AuthAttribute struct{ Name, Value string }

// Refusal values of AuthResult.Refusal.
const (
	RefusalUnknownUser  = "unknown_user"  // no such user in the local table
	RefusalBadPassword  = "bad_password"  // the local table's password did not match
	RefusalRadiusReject = "radius_reject" // Access-Reject (or Access-Challenge, or an unusable Accept)
)

// Authenticator checks a peer's credentials. It is declared here, by its
// consumer; pkg/aaa implements it (local user table, RADIUS). Authenticate
// may block (RADIUS round trips); the link calls it off its input path and
// cancels ctx when the link goes down.
type Authenticator interface {
	Authenticate(ctx context.Context, req *AuthRequest) (*AuthResult, error)
}
