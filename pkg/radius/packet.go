package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// replyCodes are the codes that answer each request code.
var replyCodes = map[radius.Code][]radius.Code{
	radius.CodeAccessRequest:     {radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge},
	radius.CodeAccountingRequest: {radius.CodeAccountingResponse},
}

// Errors of the Message-Authenticator check, counted apart.
var (
	errNoMsgAuth  = errors.New("no message-authenticator")
	errBadMsgAuth = errors.New("bad message-authenticator")
)

// checkReply parses a reply to the request req (wire bytes) and checks its
// Identifier, code, Response Authenticator (RFC 2865 §3) and Message-
// Authenticator (RFC 3579 §3.2). An Access-Accept, -Reject or -Challenge
// must carry one unless allowUnsigned: the Response Authenticator is MD5
// over the reply, which Blast-RADIUS (CVE-2024-3596) defeats with a
// chosen-prefix collision, and only the HMAC-MD5 Message-Authenticator
// binds an Access reply to the secret (RFC 9765-era advice; FreeRADIUS
// 3.2.5+ requires it of servers by default). An Accounting-Response's is
// optional (RFC 2866 has none, and ToughRADIUS never signs one), checked
// when present.
func checkReply(b, req, secret []byte, allowUnsigned bool) (*radius.Packet, error) {
	p, err := radius.Parse(b, secret)
	if err != nil {
		return nil, err
	}
	if p.Identifier != req[1] {
		return nil, fmt.Errorf("identifier %d, want %d", p.Identifier, req[1])
	}
	okCode := false
	for _, c := range replyCodes[radius.Code(req[0])] {
		okCode = okCode || p.Code == c
	}
	if !okCode {
		return nil, fmt.Errorf("%v does not answer %v", p.Code, radius.Code(req[0]))
	}
	n := int(b[2])<<8 | int(b[3])
	if !radius.IsAuthenticResponse(b[:n], req, secret) {
		return nil, errors.New("bad response authenticator (wrong secret?)")
	}
	required := !allowUnsigned && radius.Code(req[0]) == radius.CodeAccessRequest
	if err := checkMessageAuthenticator(b[:n], req[4:20], secret, required); err != nil {
		return nil, fmt.Errorf("%v: %w", p.Code, err)
	}
	return p, nil
}

// encodeRequest puts a Message-Authenticator into p (RFC 3579 §3.2: on
// every request, so a server that requires it, as FreeRADIUS can and RFC
// 3579 does for EAP, never drops ours) and encodes it. For an Access-
// Request the HMAC covers the random Request Authenticator; for
// Accounting- and Disconnect-Requests it covers 16 zero octets, and the
// Request Authenticator (RFC 2866 §3) is computed afterwards over the
// packet with the Message-Authenticator in place (RFC 5080 §2.2.2).
func encodeRequest(p *radius.Packet) ([]byte, error) {
	zeroAuth := p.Code != radius.CodeAccessRequest && p.Code != radius.CodeStatusServer
	if zeroAuth {
		p.Authenticator = [16]byte{}
	}
	b, err := signedPacket(p)
	if err != nil {
		return nil, err
	}
	if zeroAuth {
		authenticate(b, p.Secret)
		copy(p.Authenticator[:], b[4:20])
	}
	return b, nil
}

// encodeResponse encodes a reply (p.Authenticator holds the request's)
// with a Message-Authenticator (RFC 3579 §3.2: HMAC-MD5 over the packet
// with the Request Authenticator) and the Response Authenticator
// (RFC 2865 §3, RFC 5176 §3.5).
func encodeResponse(p *radius.Packet) ([]byte, error) {
	b, err := signedPacket(p)
	if err != nil {
		return nil, err
	}
	authenticate(b, p.Secret)
	return b, nil
}

// signedPacket encodes p with a Message-Authenticator: HMAC-MD5 keyed
// with the secret over the packet as it stands (p.Authenticator in its
// field) with the attribute's value zero (RFC 3579 §3.2). It is the first
// attribute, as the Blast-RADIUS advisories (and FreeRADIUS 3.2.5+ in
// its replies) have it: a peer can check it before any attribute an
// attacker might have shaped, and the collision blocks of the attack
// cannot precede it.
func signedPacket(p *radius.Packet) ([]byte, error) {
	p.Del(rfc2869.MessageAuthenticator_Type)
	p.Attributes = append(radius.Attributes{{Type: rfc2869.MessageAuthenticator_Type, Attribute: make(radius.Attribute, md5.Size)}}, p.Attributes...)
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	off := findAttr(b, byte(rfc2869.MessageAuthenticator_Type))
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	mac.Sum(b[off+2 : off+2])
	return b, nil
}

// authenticate replaces b's authenticator field with MD5(packet + secret),
// the packet holding 16 zero octets (a request, RFC 2866 §3) or the
// Request Authenticator (a response, RFC 2865 §3) there.
func authenticate(b, secret []byte) {
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
}

// checkMessageAuthenticator verifies a reply's Message-Authenticator:
// HMAC-MD5 over the reply with the Request Authenticator in place of its
// own and the attribute's value zeroed (RFC 3579 §3.2). Without one it is
// errNoMsgAuth when required, else fine.
func checkMessageAuthenticator(b, reqAuth, secret []byte, required bool) error {
	off := findAttr(b, byte(rfc2869.MessageAuthenticator_Type))
	if off < 0 {
		if required {
			return errNoMsgAuth
		}
		return nil
	}
	if b[off+1] != 2+md5.Size {
		return fmt.Errorf("%w: %d octets", errBadMsgAuth, int(b[off+1])-2)
	}
	c := append([]byte(nil), b...)
	copy(c[4:20], reqAuth)
	clear(c[off+2 : off+2+md5.Size])
	mac := hmac.New(md5.New, secret)
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), b[off+2:off+2+md5.Size]) {
		return errBadMsgAuth
	}
	return nil
}

// findAttr returns the offset of the first attribute of type t in the
// encoded packet b, or -1. b has passed radius.Parse or was encoded here.
func findAttr(b []byte, t byte) int {
	n := int(b[2])<<8 | int(b[3])
	for i := 20; i+2 <= n; {
		l := int(b[i+1])
		if l < 2 || i+l > n {
			return -1
		}
		if b[i] == t {
			return i
		}
		i += l
	}
	return -1
}
