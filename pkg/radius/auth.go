package radius

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3162"
	"layeh.com/radius/vendors/microsoft"

	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius/dict/mikrotik"
	"github.com/pptpbox/pptpbox/pkg/radius/dict/wispr"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// msgFailed is the failure text when the server gave none.
const msgFailed = "Authentication failed"

// login is what an accepted login leaves for accounting.
type login struct {
	sessionID string
	interim   time.Duration // from the Access-Accept, 0 when absent
	user      string
	at        time.Time
	local     bool     // not authenticated by RADIUS (Acct-Authentic Local)
	started   *running // set by Start
}

// Authenticate asks the servers about req. A reject is a result with OK
// false and the server's message; an error means no server answered (or
// ctx ended), which the link treats as a failure too.
func (c *Client) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	sessionID := c.newSessionID()
	tr, server := authTrace(req), ""
	reply, sent, err := c.exchange(ctx, false, func(s *Server) (*radius.Packet, error) {
		p, err := c.accessRequest(req, s.Secret, sessionID)
		if tr != nil && err == nil {
			server = s.Auth
			traceRequest(tr, p, server)
		}
		return p, err
	})
	if err != nil {
		if tr != nil {
			tr.Trace("radius", "", "no verdict: "+err.Error())
		}
		return nil, err
	}
	if tr != nil {
		traceReply(tr, reply, server)
	}
	res, l, why := parseReply(reply, sent, req)
	if !res.OK {
		res.Refusal = ppp.RefusalRadiusReject
		c.rejects.Add(1)
		c.log.Info("radius auth refused", "proto", req.Proto.String(), "user", req.User, "peer", req.Peer.String(), "reason", why)
		if tr != nil {
			tr.Trace("radius", "", "refused: "+why)
		}
		return res, nil
	}
	c.accepts.Add(1)
	l.sessionID, l.user, l.at = sessionID, req.User, time.Now()
	c.remember(res, l)
	return res, nil
}

// newSessionID makes an Acct-Session-Id unique per session and across
// restarts: the start time of the client and a counter, as pppd's radius
// plugin does with its seq file.
func (c *Client) newSessionID() string {
	return fmt.Sprintf("%s%08X", c.prefix, uint32(c.sessionSeq.Add(1)))
}

// accessRequest builds the Access-Request for req (RFC 2865 §4.1).
func (c *Client) accessRequest(req *ppp.AuthRequest, secret []byte, sessionID string) (*radius.Packet, error) {
	p := radius.New(radius.CodeAccessRequest, secret)
	if err := rfc2865.UserName_SetString(p, req.User); err != nil {
		return nil, fmt.Errorf("radius: user-name: %w", err)
	}
	if err := addCredentials(p, req); err != nil {
		return nil, err
	}
	if err := c.addNAS(p, req.Peer.Addr()); err != nil {
		return nil, err
	}
	rfc2866.AcctSessionID_SetString(p, sessionID)
	return p, nil
}

// addCredentials adds the attributes of req's protocol.
func addCredentials(p *radius.Packet, req *ppp.AuthRequest) error {
	var err error
	switch req.Proto {
	case ppp.AuthPAP:
		// RFC 2865 §5.2: hidden with the secret and Request Authenticator.
		err = rfc2865.UserPassword_Set(p, req.Password)
	case ppp.AuthCHAPMD5:
		// RFC 2865 §5.3 CHAP-Password: the CHAP Identifier, then the
		// 16-octet response; §5.40 CHAP-Challenge.
		if len(req.Response) != 16 {
			return fmt.Errorf("radius: chap response of %d octets, want 16", len(req.Response))
		}
		err = rfc2865.CHAPPassword_Set(p, append([]byte{req.Ident}, req.Response...))
		if err == nil {
			err = rfc2865.CHAPChallenge_Set(p, req.Challenge)
		}
	case ppp.AuthMSCHAPv1:
		// RFC 2548 §2.1.3 MS-CHAP-Response: Ident, Flags, LM-Response(24),
		// NT-Response(24); the PPP value (RFC 2433 §3) is LM, NT, flag.
		r, perr := mschap.ParseResponseV1(req.Response)
		if perr != nil {
			return fmt.Errorf("radius: %w", perr)
		}
		v := make([]byte, 0, 50)
		v = append(v, req.Ident, 0)
		if r.UseNT {
			v[1] = 1
		}
		v = append(append(v, r.LMResponse[:]...), r.NTResponse[:]...)
		err = microsoft.MSCHAPChallenge_Set(p, req.Challenge)
		if err == nil {
			err = microsoft.MSCHAPResponse_Set(p, v)
		}
	case ppp.AuthMSCHAPv2:
		// RFC 2548 §2.3.2 MS-CHAP2-Response: Ident, Flags, Peer-Challenge
		// (16), Reserved (8), Response (24); the PPP value (RFC 2759 §4)
		// is Peer-Challenge, Reserved, NT-Response, Flags.
		if len(req.Response) != 49 {
			return fmt.Errorf("radius: ms-chap-v2 response of %d octets, want 49", len(req.Response))
		}
		v := make([]byte, 0, 50)
		v = append(v, req.Ident, req.Response[48])
		v = append(v, req.Response[:48]...)
		err = microsoft.MSCHAPChallenge_Set(p, req.Challenge)
		if err == nil {
			err = microsoft.MSCHAP2Response_Set(p, v)
		}
	default:
		return fmt.Errorf("radius: cannot ask about %v", req.Proto)
	}
	if err != nil {
		return fmt.Errorf("radius: %v attributes: %w", req.Proto, err)
	}
	return nil
}

// addNAS adds what names this NAS and the port (RFC 2865 §5.4, §5.32,
// §5.41, §5.6, §5.7, §5.31), for Access- and Accounting-Requests alike.
func (c *Client) addNAS(p *radius.Packet, peer netip.Addr) error {
	if c.cfg.NASIdentifier != "" {
		if err := rfc2865.NASIdentifier_SetString(p, c.cfg.NASIdentifier); err != nil {
			return fmt.Errorf("radius: nas-identifier: %w", err)
		}
	}
	switch a := c.cfg.NASIP; {
	case a.Is4():
		rfc2865.NASIPAddress_Set(p, net.IP(a.AsSlice()))
	case a.Is6():
		// RFC 3162 §2.1: a NAS known by an IPv6 address.
		rfc3162.NASIPv6Address_Set(p, net.IP(a.AsSlice()))
	}
	rfc2865.NASPortType_Set(p, rfc2865.NASPortType_Value_Virtual)
	rfc2865.ServiceType_Set(p, rfc2865.ServiceType_Value_FramedUser)
	rfc2865.FramedProtocol_Set(p, rfc2865.FramedProtocol_Value_PPP)
	if peer.IsValid() {
		rfc2865.CallingStationID_SetString(p, peer.Unmap().String())
	}
	return nil
}

// Microsoft vendor attribute types (RFC 2548 §2).
const (
	msVendor          = 311
	msCHAPError       = 2
	msEncPolicy       = 7
	msEncTypes        = 8
	msCHAPMPPEKeys    = 12
	msMPPESendKey     = 16
	msMPPERecvKey     = 17
	msCHAP2Success    = 26
	msPolicyRequired  = 2
	framedIPUserPick  = 0xFFFFFFFF // RFC 2865 §5.8: let the user choose
	framedIPNASAssign = 0xFFFFFFFE // RFC 2865 §5.8: the NAS picks (the pool)
)

// vsas returns the Microsoft sub-attributes of p by type (RFC 2865 §5.26
// layout: type, length, value, possibly several in one Vendor-Specific).
// Malformed ones are skipped.
func vsas(p *radius.Packet) map[byte][][]byte {
	out := map[byte][][]byte{}
	for _, avp := range p.Attributes {
		if avp.Type != rfc2865.VendorSpecific_Type {
			continue
		}
		id, v, err := radius.VendorSpecific(avp.Attribute)
		if err != nil || id != msVendor {
			continue
		}
		for len(v) >= 2 {
			t, l := v[0], int(v[1])
			if l < 2 || l > len(v) {
				break
			}
			out[t] = append(out[t], v[2:l])
			v = v[l:]
		}
	}
	return out
}

// parseReply turns a checked reply to sent into the link's verdict. It
// never fails: anything unusable in an Accept makes it a refusal, with the
// reason for the log.
func parseReply(p, sent *radius.Packet, req *ppp.AuthRequest) (*ppp.AuthResult, *login, string) {
	ms := vsas(p)
	if p.Code != radius.CodeAccessAccept {
		msg, code := rejectMessage(p, ms)
		res := &ppp.AuthResult{Message: msg, FailureCode: code}
		why := p.Code.String()
		if p.Code == radius.CodeAccessChallenge {
			why += " (not supported for PPP)"
		}
		return res, nil, why + ": " + res.Message
	}
	res := &ppp.AuthResult{OK: true, Message: rfc2865.ReplyMessage_GetString(p), Source: "radius"}
	for _, a := range DescribeAttributes(p) {
		res.Attributes = append(res.Attributes, ppp.AuthAttribute{Name: a.Name, Value: a.Value})
	}
	l := &login{}
	switch req.Proto {
	case ppp.AuthMSCHAPv2:
		// RFC 2548 §2.3.3 MS-CHAP2-Success: Ident, then "S=<40 hex>".
		v := first(ms[msCHAP2Success])
		if len(v) < 43 || !strings.HasPrefix(string(v[1:]), "S=") {
			return refuse(fmt.Sprintf("Access-Accept without a usable MS-CHAP2-Success (%d octets)", len(v)))
		}
		res.AuthenticatorResponse = string(v[1:43])
		if !validHex(res.AuthenticatorResponse[2:]) {
			return refuse("MS-CHAP2-Success is not S=<40 hex digits>")
		}
	case ppp.AuthMSCHAPv1:
		// RFC 2548 §2.4.1 MS-CHAP-MPPE-Keys: LM key (8) and NT key (16)
		// hidden like User-Password; the NT key is the NT password hash's
		// hash, from which RFC 3079 §2.4 derives the MPPE key.
		if v := first(ms[msCHAPMPPEKeys]); v != nil {
			k, err := decryptMPPEKeys(v, p.Secret, sent.Authenticator)
			if err == nil && len(req.Challenge) == 8 {
				var hh [16]byte
				var ch [8]byte
				copy(hh[:], k[8:24])
				copy(ch[:], req.Challenge)
				key := mppe.MasterKeyV1(hh, ch)
				res.MPPESendKey, res.MPPERecvKey = key[:], key[:]
			}
		}
	}
	// RFC 2548 §2.4.2/§2.4.3: the keys the NAS sends and receives with.
	send, serr := mppeKey(microsoft.MSMPPESendKey_Lookup(p, sent))
	recv, rerr := mppeKey(microsoft.MSMPPERecvKey_Lookup(p, sent))
	switch {
	case serr != nil:
		return refuse("MS-MPPE-Send-Key: " + serr.Error())
	case rerr != nil:
		return refuse("MS-MPPE-Recv-Key: " + rerr.Error())
	case send != nil && recv != nil:
		res.MPPESendKey, res.MPPERecvKey = send, recv
	}
	// RFC 2548 §2.4.4/§2.4.5: encryption required tightens our policy;
	// "allowed" cannot loosen it (config sets the floor).
	if v := first(ms[msEncPolicy]); len(v) == 4 && binary.BigEndian.Uint32(v) == msPolicyRequired {
		res.MPPERequired = true
	}
	if v, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		if a, ok := netip.AddrFromSlice(v.To4()); ok {
			if u := binary.BigEndian.Uint32(v.To4()); u != framedIPUserPick && u != framedIPNASAssign && !a.IsUnspecified() {
				res.FramedIP = a
			}
		}
	}
	if v, err := rfc2865.SessionTimeout_Lookup(p); err == nil && v > 0 {
		res.SessionTimeout = time.Duration(v) * time.Second
	}
	if v, err := rfc2865.IdleTimeout_Lookup(p); err == nil && v > 0 {
		res.IdleTimeout = time.Duration(v) * time.Second
	}
	limit, err := rateLimit(p)
	if err != nil {
		return refuse(err.Error())
	}
	res.RateLimit = limit
	// RFC 2865 §5.22 Framed-Route, one attribute per route; pkg/session
	// parses and checks them when the link comes up.
	for _, v := range p.Attributes {
		if v.Type == rfc2865.FramedRoute_Type {
			res.Routes = append(res.Routes, string(v.Attribute))
		}
	}
	if v, err := rfc2869.AcctInterimInterval_Lookup(p); err == nil && v > 0 {
		l.interim = time.Duration(v) * time.Second
	}
	for _, v := range p.Attributes {
		if v.Type == rfc2865.Class_Type {
			res.Class = append(res.Class, append([]byte(nil), v.Attribute...))
		}
	}
	return res, l, ""
}

// rateLimit is the session's rate limit an Access-Accept (or CoA-Request)
// sets, in Mikrotik-Rate-Limit syntax: that attribute's value, else
// WISPr-Bandwidth-Max-Up/Down (bits/s) as "up/down"; "" when it sets
// none. A value that does not parse is an error: the user was meant to
// be limited.
func rateLimit(p *radius.Packet) (string, error) {
	if v, err := mikrotik.MikrotikRateLimit_LookupString(p); err == nil {
		l, err := ratelimit.Parse(v)
		if err != nil {
			return "", fmt.Errorf("Mikrotik-Rate-Limit %q: %v", v, strings.TrimPrefix(err.Error(), "ratelimit: "))
		}
		return l.String(), nil
	}
	up, uerr := wispr.WISPrBandwidthMaxUp_Lookup(p)
	down, derr := wispr.WISPrBandwidthMaxDown_Lookup(p)
	if uerr != nil && derr != nil {
		return "", nil
	}
	// One of the two alone limits that direction only (0 is none).
	l := ratelimit.Rates(uint64(up), uint64(down))
	if l.IsZero() {
		return "", nil
	}
	return l.String(), nil
}

func refuse(why string) (*ppp.AuthResult, *login, string) {
	return &ppp.AuthResult{Message: msgFailed}, nil, why
}

// rejectMessage is the text for the peer and the MS-CHAP error code: the
// M= and E= of an MS-CHAP-Error (RFC 2548 §2.1.5: Ident, then "E=648 R=0
// ... M=..."), else the Reply-Message (RFC 2865 §5.18), else a generic
// text; code 0 leaves the link's default (691).
func rejectMessage(p *radius.Packet, ms map[byte][][]byte) (msg string, code int) {
	if v := first(ms[msCHAPError]); len(v) > 1 {
		if f, err := mschap.ParseFailure(string(v[1:])); err == nil {
			code = f.Code
			if f.Message != "" {
				return f.Message, code
			}
		}
	}
	if m := rfc2865.ReplyMessage_GetString(p); m != "" {
		return strings.TrimRight(m, "\r\n"), code
	}
	return msgFailed, code
}

func first(v [][]byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

func validHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// mppeKey takes an MS-MPPE-Send/Recv-Key lookup (layeh decrypts it, RFC
// 2548 §2.4.2); nil when absent. MPPE takes 16-octet keys; a longer key
// (32 from some servers) is cut, as RFC 3079 §3.3's keys are its first 16
// octets.
func mppeKey(k []byte, err error) ([]byte, error) {
	switch {
	case errors.Is(err, radius.ErrNoAttribute):
		return nil, nil
	case err != nil:
		return nil, err
	case len(k) < 16:
		return nil, fmt.Errorf("key of %d octets, want 16 (wrong secret?)", len(k))
	}
	return k[:16], nil
}
