// Package aaa is authentication, authorization and accounting as the
// session layer and the RADIUS client both see it, without either
// importing the other:
//
//   - local.go: the local user table of the config's [[user]] entries, a
//     ppp.Authenticator;
//   - fallback.go: Fallback, RADIUS first and the local table when no
//     RADIUS server answers (pkg/radius implements the RADIUS one);
//   - accounting.go: the accounting record (Record, Cause) a session hands
//     to an Accounting (pkg/radius sends it);
//   - single.go: the single-session policy (SingleSession) that pkg/config
//     parses and pkg/session enforces.
package aaa

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Messages returned to the peer. A failure says the same for an unknown
// user and a wrong password so that the peer cannot probe for names; the
// reason goes to the log.
const (
	msgOK     = "Access granted"
	msgFailed = "Authentication failed"
)

// LocalUser is one [[user]] entry, like a line of pppd's chap-secrets.
type LocalUser struct {
	Name     string
	Password string
	// IP is the peer's fixed address; the zero Addr means "from the pool"
	// (chap-secrets' "*").
	IP netip.Addr
	// RateLimit is the user's rate limit, Mikrotik-Rate-Limit syntax
	// (pkg/config checked it); "" none.
	RateLimit string
	// Routes are the subnets routed through the user, Framed-Route text
	// (pkg/config checked them); none when empty.
	Routes []string
}

// Local authenticates against a fixed table of users. It is immutable after
// NewLocal and safe for concurrent use.
type Local struct {
	users map[string]LocalUser
	// dummy stands in for an unknown user so that a miss costs the same
	// hashing as a wrong password.
	dummy LocalUser
	log   *slog.Logger
}

// NewLocal builds the table. Names are case-sensitive, as in chap-secrets;
// if a name appears twice the first entry wins (config validation is where
// duplicates are reported).
func NewLocal(users []LocalUser) *Local {
	l := &Local{
		users: make(map[string]LocalUser, len(users)),
		dummy: LocalUser{Password: "\x00no such user\x00"},
		log:   slog.New(slog.DiscardHandler),
	}
	for _, u := range users {
		if _, dup := l.users[u.Name]; !dup {
			l.users[u.Name] = u
		}
	}
	return l
}

// WithLogger returns l logging the reason of each refusal to lg.
func (l *Local) WithLogger(lg *slog.Logger) *Local {
	c := *l
	c.log = lg
	return &c
}

// Len is the number of users in the table.
func (l *Local) Len() int { return len(l.users) }

// Authenticate checks req against the table. An unknown user, a wrong
// password or a malformed request is a result with OK false, never an error;
// the error is only for a cancelled ctx.
func (l *Local) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("aaa: local: %w", err)
	}
	u, known := l.lookup(req.User)
	var res *ppp.AuthResult
	var why string
	switch req.Proto {
	case ppp.AuthPAP:
		res, why = checkPAP(u, req)
	case ppp.AuthCHAPMD5:
		res, why = checkCHAPMD5(u, req)
	case ppp.AuthMSCHAPv1:
		res, why = checkMSCHAPv1(u, req)
	case ppp.AuthMSCHAPv2:
		res, why = checkMSCHAPv2(u, req)
	default:
		res, why = fail(), fmt.Sprintf("unsupported protocol %v", req.Proto)
	}
	if !known {
		res, why = fail(), "unknown user"
		res.Refusal = ppp.RefusalUnknownUser
	}
	if !res.OK {
		if res.Refusal == "" {
			res.Refusal = ppp.RefusalBadPassword
		}
		l.log.Info("local auth refused", "proto", req.Proto.String(), "user", req.User, "peer", req.Peer.String(), "reason", why)
		if t := req.Trace; t != nil && t.Tracing() {
			t.Trace("auth", "", fmt.Sprintf("local user table: %q refused: %s", req.User, why))
		}
		return res, nil
	}
	res.FramedIP = u.IP
	res.RateLimit = u.RateLimit
	res.Routes = u.Routes
	if t := req.Trace; t != nil && t.Tracing() {
		t.Trace("auth", "", fmt.Sprintf("local user table: %q accepted", req.User))
	}
	return res, nil
}

// lookup finds the user by the exact name, then by the name without a
// "DOMAIN\" prefix, which Windows adds when the dial-up entry has a domain.
// For an unknown user it returns the dummy entry and false.
func (l *Local) lookup(name string) (LocalUser, bool) {
	if u, ok := l.users[name]; ok {
		return u, true
	}
	if bare := mschap.StripDomain(name); bare != name {
		if u, ok := l.users[bare]; ok {
			return u, true
		}
	}
	return l.dummy, false
}

func fail() *ppp.AuthResult { return &ppp.AuthResult{Message: msgFailed} }

func ok() *ppp.AuthResult { return &ppp.AuthResult{OK: true, Message: msgOK, Source: "local"} }

// checkPAP compares the cleartext password (RFC 1334 §2.2.1) in constant
// time.
func checkPAP(u LocalUser, req *ppp.AuthRequest) (*ppp.AuthResult, string) {
	if subtle.ConstantTimeCompare(req.Password, []byte(u.Password)) != 1 {
		return fail(), "wrong password"
	}
	return ok(), ""
}

// checkCHAPMD5 verifies Response = MD5(Identifier || secret || Challenge)
// (RFC 1994 §4.1).
func checkCHAPMD5(u LocalUser, req *ppp.AuthRequest) (*ppp.AuthResult, string) {
	if len(req.Challenge) == 0 {
		return fail(), "no challenge"
	}
	if len(req.Response) != md5.Size {
		return fail(), fmt.Sprintf("response of %d octets, want %d", len(req.Response), md5.Size)
	}
	h := md5.New()
	h.Write([]byte{req.Ident})
	h.Write([]byte(u.Password))
	h.Write(req.Challenge)
	if subtle.ConstantTimeCompare(h.Sum(nil), req.Response) != 1 {
		return fail(), "wrong password"
	}
	return ok(), ""
}

// checkMSCHAPv1 verifies the NT-Response of an MS-CHAPv1 response value
// (RFC 2433 §3). LAN Manager responses are refused: the LM hash is too weak
// to accept. The MPPE key is the same both ways (RFC 3079 §2.4).
func checkMSCHAPv1(u LocalUser, req *ppp.AuthRequest) (*ppp.AuthResult, string) {
	if len(req.Challenge) != 8 {
		return fail(), fmt.Sprintf("challenge of %d octets, want 8", len(req.Challenge))
	}
	r, err := mschap.ParseResponseV1(req.Response)
	if err != nil {
		return fail(), err.Error()
	}
	if !r.UseNT {
		return fail(), "LAN Manager response only (use-NT flag clear)"
	}
	var challenge [8]byte
	copy(challenge[:], req.Challenge)
	if !mschap.CheckNTChallengeResponse(challenge, u.Password, r.NTResponse) {
		return fail(), "wrong password"
	}
	hh := mschap.HashNTPasswordHash(mschap.NTPasswordHash(u.Password))
	send := mppe.MasterKeyV1(hh, challenge)
	recv := send
	res := ok()
	res.MPPESendKey, res.MPPERecvKey = send[:], recv[:]
	return res, ""
}

// checkMSCHAPv2 verifies the NT-Response (RFC 2759 §5), and on success
// computes the authenticator response for the Success packet (§8.7) and
// the server's MPPE keys (RFC 3079 §3.4).
func checkMSCHAPv2(u LocalUser, req *ppp.AuthRequest) (*ppp.AuthResult, string) {
	if len(req.Challenge) != 16 {
		return fail(), fmt.Sprintf("challenge of %d octets, want 16", len(req.Challenge))
	}
	r, err := mschap.ParseResponse(req.Response)
	if err != nil {
		return fail(), err.Error()
	}
	var authChallenge [16]byte
	copy(authChallenge[:], req.Challenge)
	if !mschap.CheckNTResponse(authChallenge, r.PeerChallenge, req.User, u.Password, r.NTResponse) {
		return fail(), "wrong password"
	}
	hh := mschap.HashNTPasswordHash(mschap.NTPasswordHash(u.Password))
	send, recv := mppe.MasterKeys(hh, r.NTResponse, true)
	res := ok()
	res.AuthenticatorResponse = mschap.GenerateAuthenticatorResponseHash(hh, r.NTResponse, r.PeerChallenge, authChallenge, req.User)
	res.MPPESendKey, res.MPPERecvKey = send[:], recv[:]
	return res, ""
}
