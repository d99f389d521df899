package ppp

import (
	"fmt"
	"io"
	"time"

	"github.com/pptpbox/pptpbox/pkg/mschap"
)

// Authentication phase (RFC 1661 §3.5), shared by both roles. The
// protocol specifics live in auth_pap.go and auth_chap.go.

// ReasonReauthOtherUser begins the OnDown reason of a link that ended
// because a second login on it named another user.
const ReasonReauthOtherUser = "re-authentication as another user"

// authState is the authentication phase of a link, either role.
type authState struct {
	proto  AuthProto
	user   string
	result *AuthResult
	done   bool // the phase ended (success or final failure)

	id        uint8  // server: identifier the next Response must carry
	challenge []byte // server: our current challenge; client: the peer's
	retries   int    // server: failed logins still allowed
	pending   bool   // server: Authenticate is running
	gen       uint64 // invalidates results and timers of an earlier round
	lastReply *Packet
	sends     int // transmissions of the current Challenge / Authenticate-Request
	timer     *time.Timer
	arms      uint64 // numbers authArm calls

	// Server: identity is the user the link's first successful login
	// named and params the addresses Config.Network gave it. LCP may be
	// renegotiated at any time (RFC 1661 §3.5 then runs this phase again):
	// a later login must name the same user, and keeps the addresses
	// without asking Network again, so that one call never holds two
	// identities or two addresses.
	identity string
	params   NetworkParams

	// Client: what the MS-CHAPv2 Success check and MPPE keys need.
	peerChallenge [16]byte
	ntResponse    [24]byte
}

// authNeeded: LCP negotiated an authentication protocol for this role.
func (l *Link) authNeeded() bool { return l.lcpL.negotiatedAuth() != AuthNone }

// authStart begins the phase once LCP is open.
func (l *Link) authStart() {
	a := &l.auth
	a.proto = l.lcpL.negotiatedAuth()
	a.retries = l.cfg.AuthRetries
	a.done = false
	a.lastReply = nil
	a.sends = 0
	l.log.Debug(fmt.Sprintf("%s: %s authentication as %v", authLabel(a.proto), map[Role]string{Server: "requiring", Client: "doing"}[l.cfg.Role], l.cfg.Role))
	if l.cfg.Role == Client {
		if a.proto == AuthPAP {
			l.papClientSend()
			return
		}
		// CHAP: wait for the authenticator's Challenge (RFC 1994 §2).
		l.authArm(l.cfg.RestartTimeout*maxConfigure, func() { l.authFail("no CHAP challenge from peer") })
		return
	}
	switch a.proto {
	case AuthPAP:
		l.authArm(l.cfg.RestartTimeout*maxConfigure, func() { l.authFail("peer did not send PAP authenticate-request") })
	default:
		a.id = uint8(l.randomU32())
		l.chapNewChallenge()
		l.chapSendChallenge()
	}
}

// authStop cancels whatever the phase was doing (link or LCP going down).
func (l *Link) authStop() {
	a := &l.auth
	a.gen++
	a.pending = false
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}

// authArm (re)starts the phase timer; a newer arm or authStop cancels it.
func (l *Link) authArm(d time.Duration, fn func()) {
	a := &l.auth
	if a.timer != nil {
		a.timer.Stop()
	}
	// A timer that already fired but waits for the lock must not run
	// after being replaced: each arm has its own number.
	a.arms++
	gen, arm := a.gen, a.arms
	a.timer = l.afterFunc(d, func() {
		if a.gen == gen && a.arms == arm && !a.done {
			a.timer = nil
			fn()
		}
	})
}

// authFail ends the link for an authentication reason.
func (l *Link) authFail(reason string) {
	l.auth.done = true
	l.log.Info(reason)
	l.close(reason)
}

// authSucceeded moves on to the network phase (RFC 1661 §3.5).
func (l *Link) authSucceeded() {
	a := &l.auth
	a.done = true
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	l.startNetwork()
}

func (l *Link) authInput(proto Proto, p Packet) {
	a := &l.auth
	isCHAP := a.proto == AuthCHAPMD5 || a.proto == AuthMSCHAPv1 || a.proto == AuthMSCHAPv2
	switch {
	case proto == ProtoPAP && a.proto == AuthPAP:
		if l.cfg.Role == Server {
			l.papServerInput(p)
		} else {
			l.papClientInput(p)
		}
	case proto == ProtoCHAP && isCHAP:
		if l.cfg.Role == Server {
			l.chapServerInput(p)
		} else {
			l.chapClientInput(p)
		}
	default:
		// RFC 1661 §5.7 would Protocol-Reject a protocol we do not run at
		// all; one we run but did not negotiate is just noise.
		l.log.Debug(fmt.Sprintf("discarded %v packet: negotiated %v", proto, a.proto))
	}
}

// startAuthenticate runs Config.Authenticator (and then Config.Network) off
// the input path; the verdict comes back through authResult under the lock.
func (l *Link) startAuthenticate(req *AuthRequest, replyID uint8) {
	a := &l.auth
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if a.identity != "" && req.User != a.identity {
		// A second login on an authenticated link naming someone else:
		// refused without asking the authenticator, and the link ends
		// (no retry: the name, not the password, is wrong).
		l.log.Warn("re-authentication as another user refused", "user", a.identity, "new_user", req.User)
		a.done = true
		l.authReplyFailure(replyID, mschap.ErrorNoDialinPermission, "Re-authentication must name the same user", false)
		l.close(fmt.Sprintf("%s: %q on a link authenticated as %q", ReasonReauthOtherUser, req.User, a.identity))
		return
	}
	a.pending = true
	a.user = req.User
	req.Peer = l.cfg.Peer
	l.traceIdentify(req.User)
	if l.tracing() {
		req.Trace = l.cfg.Tracer
	}
	gen := a.gen
	ctx := l.ctx
	authn, network := l.cfg.Authenticator, l.cfg.Network
	reauth, params := a.identity != "", a.params
	go func() {
		var res *AuthResult
		var err error
		if authn == nil {
			err = fmt.Errorf("no authenticator configured")
		} else {
			res, err = authn.Authenticate(ctx, req)
		}
		var np NetworkParams
		var nerr error
		if err == nil && res != nil && res.OK {
			if reauth {
				np = params // the same user again: the same addresses
			} else if network == nil {
				nerr = fmt.Errorf("no address source configured")
			} else {
				np, nerr = network(ctx, req.User, res)
			}
		}
		l.lock()
		defer l.unlock()
		if l.dead || a.gen != gen {
			return
		}
		a.pending = false
		l.authResult(req, replyID, res, err, np, nerr)
	}()
}

// authResult acts on the authenticator's verdict (server role).
func (l *Link) authResult(req *AuthRequest, replyID uint8, res *AuthResult, err error, np NetworkParams, nerr error) {
	a := &l.auth
	ok := err == nil && res != nil && res.OK
	if ok && a.proto == AuthMSCHAPv2 && len(res.AuthenticatorResponse) < 42 {
		// Windows drops a Success without a valid S= (RFC 2759 §5).
		err = fmt.Errorf("authenticator gave no MS-CHAPv2 authenticator response")
		ok = false
	}
	msg, code := "", 0
	if res != nil {
		msg, code = res.Message, res.FailureCode
	}
	if code == 0 {
		code = mschap.ErrorAuthenticationFailure
	}
	if !ok {
		if err != nil {
			l.log.Warn(fmt.Sprintf("%s: authenticator error for %q: %v", authLabel(a.proto), req.User, err))
		}
		l.log.Info(fmt.Sprintf("%s peer authentication failed for %q", authLabel(a.proto), req.User))
		if l.tracing() {
			l.traceAuthFailed(req, err)
		}
		if msg == "" {
			msg = "Authentication failed"
		}
		// Another password may help after 691; not after an expired or
		// disabled account (the peer would only ask again).
		retry := a.retries > 0 && a.proto != AuthMSCHAPv1 && code == mschap.ErrorAuthenticationFailure
		if retry {
			a.retries--
		}
		l.authReplyFailure(replyID, code, msg, retry)
		if !retry {
			a.done = true
			l.close(fmt.Sprintf("%s peer authentication failed for %q", authLabel(a.proto), req.User))
		}
		return
	}
	if prev := a.result; prev != nil && prev.MPPERequired && !res.MPPERequired {
		// A re-authentication never loosens what the first one required.
		r := *res
		r.MPPERequired = true
		res = &r
	}
	a.result = res
	l.log.Debug(fmt.Sprintf("%s peer authentication succeeded for %q", authLabel(a.proto), req.User))
	if l.tracing() {
		l.traceNote("auth", fmt.Sprintf("%s peer authentication succeeded for %q", authLabel(a.proto), req.User))
	}
	l.authReplySuccess(replyID, res)
	if nerr == nil && (!np.LocalIP.Is4() || !np.PeerIP.Is4() || np.PeerIP.IsUnspecified() || np.LocalIP == np.PeerIP) {
		nerr = fmt.Errorf("unusable addresses local %v peer %v", np.LocalIP, np.PeerIP)
	}
	if nerr != nil {
		a.done = true
		l.close(fmt.Sprintf("no network parameters for %q: %v", req.User, nerr))
		return
	}
	if a.identity == "" {
		a.identity, a.params = req.User, np
	}
	l.ipcpL.setParams(np)
	l.authSucceeded()
}

// authReplySuccess sends (and remembers, for retransmitted requests) the
// protocol's success packet.
func (l *Link) authReplySuccess(id uint8, res *AuthResult) {
	a := &l.auth
	var p Packet
	proto := ProtoCHAP
	switch a.proto {
	case AuthPAP:
		proto = ProtoPAP
		p = Packet{Code: papAuthAck, ID: id, Data: papMessage(orDefault(res.Message, "Login ok"))}
	case AuthMSCHAPv2:
		// RFC 2759 §5: "S=<auth_string> M=<message>".
		p = Packet{Code: chapSuccess, ID: id, Data: []byte(res.AuthenticatorResponse + " M=" + orDefault(res.Message, "Access granted"))}
	default:
		p = Packet{Code: chapSuccess, ID: id, Data: []byte(orDefault(res.Message, "Access granted"))}
	}
	a.lastReply = &p
	l.sendPacket(proto, p)
}

// authReplyFailure sends the failure packet; with retry, it also sets up
// the next round (RFC 2759 §6: the Failure carries the new challenge and
// the retried Response the next identifier).
func (l *Link) authReplyFailure(id uint8, code int, msg string, retry bool) {
	a := &l.auth
	var p Packet
	proto := ProtoCHAP
	switch a.proto {
	case AuthPAP:
		proto = ProtoPAP
		p = Packet{Code: papAuthNak, ID: id, Data: papMessage(msg)}
	case AuthMSCHAPv2:
		if retry {
			l.chapNewChallenge()
		}
		p = Packet{Code: chapFailure, ID: id, Data: []byte(mschapFailure(code, a.challenge, retry, msg))}
	case AuthMSCHAPv1:
		p = Packet{Code: chapFailure, ID: id, Data: fmt.Appendf(nil, "E=%d R=0", code)}
	default:
		p = Packet{Code: chapFailure, ID: id, Data: []byte(msg)}
	}
	a.lastReply = &p
	l.sendPacket(proto, p)
	if !retry {
		return
	}
	a.lastReply = nil
	a.gen++ // forget timers of the failed round
	switch a.proto {
	case AuthPAP:
		l.authArm(l.cfg.RestartTimeout*maxConfigure, func() { l.authFail("peer did not retry PAP authenticate-request") })
	case AuthMSCHAPv2:
		a.id = id + 1
		a.sends = 0
		l.authArm(l.cfg.RestartTimeout*maxConfigure, func() { l.authFail("peer did not retry MS-CHAPv2 response") })
	default:
		a.id = id + 1
		a.sends = 0
		l.chapNewChallenge()
		l.chapSendChallenge()
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// randomU32 reads four random bytes (time-based if the source fails).
func (l *Link) randomU32() uint32 { return l.lcpL.randomU32() }

// randomBytes fills b from Config.Rand.
func (l *Link) randomBytes(b []byte) {
	if _, err := io.ReadFull(l.cfg.Rand, b); err != nil {
		// A challenge must never be predictable; without randomness the
		// link cannot authenticate safely.
		l.log.Error("random source failed: " + err.Error())
		l.close("random source failed")
	}
}
