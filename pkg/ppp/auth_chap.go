package ppp

import (
	"bytes"
	"crypto/md5"
	"fmt"

	"github.com/pptpbox/pptpbox/pkg/mschap"
)

// CHAP (RFC 1994) and its Microsoft variants MS-CHAPv1 (RFC 2433) and
// MS-CHAPv2 (RFC 2759): same packet format, different values.
//
//	Challenge/Response data: Value-Size(1) Value Name

// CHAP codes (RFC 1994 §4).
const (
	chapChallenge = 1
	chapResponse  = 2
	chapSuccess   = 3
	chapFailure   = 4
)

// chapValue is a parsed Challenge or Response.
type chapValue struct {
	value []byte
	name  string
}

func parseCHAPValue(data []byte) (chapValue, error) {
	if len(data) < 1 || int(data[0]) == 0 || 1+int(data[0]) > len(data) {
		return chapValue{}, fmt.Errorf("chap: %w: value size in %d bytes", ErrMalformed, len(data))
	}
	n := int(data[0])
	return chapValue{value: data[1 : 1+n], name: string(data[1+n:])}, nil
}

func appendCHAPValue(dst, value []byte, name string) []byte {
	dst = append(dst, byte(len(value)))
	dst = append(dst, value...)
	return append(dst, name...)
}

// chapChallengeLen is the challenge size each variant uses: MS-CHAPv1
// needs exactly 8 (RFC 2433 §2), MS-CHAPv2 16 (RFC 2759 §3); for MD5 we
// pick 16 (RFC 1994 leaves it open).
func chapChallengeLen(p AuthProto) int {
	if p == AuthMSCHAPv1 {
		return 8
	}
	return 16
}

// chapResponseLen is the Value-Size of a valid Response.
func chapResponseLen(p AuthProto) int {
	if p == AuthCHAPMD5 {
		return md5.Size
	}
	return mschap.ResponseLen
}

// Server side.

func (l *Link) chapNewChallenge() {
	a := &l.auth
	a.challenge = make([]byte, chapChallengeLen(a.proto))
	l.randomBytes(a.challenge)
}

// chapSendChallenge sends the Challenge and re-sends it every restart
// period (RFC 1994 §4.1) up to Max-Configure times.
func (l *Link) chapSendChallenge() {
	a := &l.auth
	if l.dead {
		return
	}
	if a.sends >= maxConfigure {
		l.authFail("Peer failed to respond to CHAP challenge")
		return
	}
	a.sends++
	l.sendPacket(ProtoCHAP, Packet{Code: chapChallenge, ID: a.id, Data: appendCHAPValue(nil, a.challenge, l.cfg.Name)})
	l.authArm(l.cfg.RestartTimeout, l.chapSendChallenge)
}

func (l *Link) chapServerInput(p Packet) {
	a := &l.auth
	if p.Code != chapResponse {
		l.log.Debug(fmt.Sprintf("CHAP: discarded code %d from peer", p.Code))
		return
	}
	if a.done || a.lastReply != nil {
		// RFC 1994 §4.2: a retransmitted Response gets the same answer.
		if a.lastReply != nil && p.ID == a.lastReply.ID {
			l.sendPacket(ProtoCHAP, *a.lastReply)
		}
		return
	}
	if a.pending || p.ID != a.id {
		return // a duplicate while the authenticator works, or stale
	}
	v, err := parseCHAPValue(p.Data)
	if err != nil {
		l.log.Debug(err.Error())
		return
	}
	if len(v.value) != chapResponseLen(a.proto) {
		l.log.Debug(fmt.Sprintf("%s: response value of %d bytes, want %d", authLabel(a.proto), len(v.value), chapResponseLen(a.proto)))
		return
	}
	if a.proto == AuthMSCHAPv2 {
		if _, err := mschap.ParseResponse(v.value); err != nil {
			l.log.Debug(err.Error())
			return
		}
	}
	req := &AuthRequest{
		Proto:     a.proto,
		User:      v.name,
		Ident:     p.ID,
		Challenge: append([]byte(nil), a.challenge...),
		Response:  append([]byte(nil), v.value...),
	}
	l.startAuthenticate(req, p.ID)
}

// mschapFailure is the MS-CHAPv2 Failure text (RFC 2759 §6). With retry
// the C= challenge is the one the retried Response must answer.
func mschapFailure(code int, challenge []byte, retry bool, msg string) string {
	var c [16]byte
	copy(c[:], challenge)
	return mschap.FailureMessage(code, c, retry, msg)
}

// Client side.

func (l *Link) chapClientInput(p Packet) {
	a := &l.auth
	switch p.Code {
	case chapChallenge:
		if a.done {
			return
		}
		v, err := parseCHAPValue(p.Data)
		if err != nil {
			l.log.Debug(err.Error())
			return
		}
		if len(v.value) != chapChallengeLen(a.proto) && a.proto != AuthCHAPMD5 {
			l.log.Debug(fmt.Sprintf("%s: challenge of %d bytes", authLabel(a.proto), len(v.value)))
			return
		}
		if a.lastReply != nil && p.ID == a.lastReply.ID && bytes.Equal(v.value, a.challenge) {
			// The same Challenge again (re-sent while our Response was on
			// its way): the same Response. A fresh one would carry a new
			// peer challenge, and the Success the authenticator sends for
			// the first would then fail our mutual check (RFC 2759 §5).
			l.sendPacket(ProtoCHAP, *a.lastReply)
			return
		}
		a.challenge = append(a.challenge[:0], v.value...)
		l.chapRespond(p.ID)
	case chapSuccess:
		if a.done || a.lastReply == nil || p.ID != a.lastReply.ID {
			return
		}
		if a.proto == AuthMSCHAPv2 {
			var ac [16]byte
			copy(ac[:], a.challenge)
			if !mschap.CheckAuthenticatorResponse(l.cfg.Password, a.ntResponse, a.peerChallenge, ac, l.cfg.Username, string(p.Data)) {
				// RFC 2759 §8.8: the server did not prove it knows the password.
				l.authFail("MS-CHAPv2 mutual authentication failed")
				return
			}
		}
		l.log.Debug(fmt.Sprintf("%s authentication succeeded", authLabel(a.proto)))
		a.user = l.cfg.Username
		l.authSucceeded()
	case chapFailure:
		if a.done || a.lastReply == nil || p.ID != a.lastReply.ID {
			return
		}
		text := printable(p.Data)
		if a.proto == AuthMSCHAPv2 {
			f, err := mschap.ParseFailure(string(p.Data))
			if err == nil && f.Retry && len(f.Challenge) == 16 && a.retries > 0 {
				a.retries--
				l.log.Info(fmt.Sprintf("MS-CHAPv2 authentication failed (%s), retrying", text))
				a.challenge = append(a.challenge[:0], f.Challenge...)
				l.chapRespond(p.ID + 1)
				return
			}
		}
		l.authFail(fmt.Sprintf("%s authentication failed: %s", authLabel(a.proto), text))
	default:
		l.log.Debug(fmt.Sprintf("CHAP: discarded code %d from peer", p.Code))
	}
}

// chapRespond computes and sends our Response to a.challenge.
func (l *Link) chapRespond(id uint8) {
	a := &l.auth
	var value []byte
	switch a.proto {
	case AuthCHAPMD5:
		// RFC 1994 §4.1: MD5(Identifier || secret || Challenge).
		h := md5.New()
		h.Write([]byte{id})
		h.Write([]byte(l.cfg.Password))
		h.Write(a.challenge)
		value = h.Sum(nil)
	case AuthMSCHAPv1:
		var c [8]byte
		copy(c[:], a.challenge)
		value = mschap.ResponseV1{NTResponse: mschap.NTChallengeResponse(c, l.cfg.Password), UseNT: true}.Marshal()
	case AuthMSCHAPv2:
		var ac [16]byte
		copy(ac[:], a.challenge)
		l.randomBytes(a.peerChallenge[:])
		a.ntResponse = mschap.GenerateNTResponse(ac, a.peerChallenge, l.cfg.Username, l.cfg.Password)
		value = mschap.Response{PeerChallenge: a.peerChallenge, NTResponse: a.ntResponse}.Marshal()
	}
	p := Packet{Code: chapResponse, ID: id, Data: appendCHAPValue(nil, value, l.cfg.Username)}
	a.lastReply = &p
	a.sends = 0
	l.chapSendResponse()
}

// chapSendResponse sends our Response and re-sends it, unchanged, every
// restart period until the Success or Failure arrives. The authenticator
// stops re-sending its Challenge once it has a Response, so a lost Success
// would otherwise leave us waiting with nothing in flight; the
// authenticator answers a retransmitted Response with the same verdict
// (RFC 1994 §4.2, as pppd does).
func (l *Link) chapSendResponse() {
	a := &l.auth
	if l.dead || a.lastReply == nil {
		return
	}
	if a.sends >= maxConfigure {
		l.authFail("no CHAP result from peer")
		return
	}
	a.sends++
	l.sendPacket(ProtoCHAP, *a.lastReply)
	l.authArm(l.cfg.RestartTimeout, l.chapSendResponse)
}
