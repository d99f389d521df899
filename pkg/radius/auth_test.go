package radius

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
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
)

// TestMPPEKeyVector: a vector worked out from RFC 2548 §2.4.2's text with
// a separate implementation (Python hashlib), decrypted the way parseReply
// does (layeh's vendors/microsoft, mppeKey): secret "xyzzy5461", Request
// Authenticator 10 11 .. 1f, salt 80 01.
func TestMPPEKeyVector(t *testing.T) {
	v, _ := hex.DecodeString("8001fb529c9bfd73089d4f9574023eb662e37ca7fb594a5c83cd137d32e589a8d1df")
	want, _ := hex.DecodeString("d5f7a1a2b3c4d5e6f708192a3b4c5d6e")
	accept := func(secret string, v []byte) (*radius.Packet, *radius.Packet) {
		req := radius.New(radius.CodeAccessRequest, []byte(secret))
		for i := range req.Authenticator {
			req.Authenticator[i] = byte(0x10 + i)
		}
		resp := req.Response(radius.CodeAccessAccept)
		vsa := append([]byte{msMPPESendKey, byte(2 + len(v))}, v...)
		a, err := radius.NewVendorSpecific(msVendor, vsa)
		if err != nil {
			t.Fatal(err)
		}
		resp.Add(rfc2865.VendorSpecific_Type, a)
		return resp, req
	}
	got, err := mppeKey(microsoft.MSMPPESendKey_Lookup(accept("xyzzy5461", v)))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("MS-MPPE-Send-Key = %x, %v; want %x", got, err, want)
	}
	if k, err := mppeKey(microsoft.MSMPPESendKey_Lookup(accept("wrong", v))); err == nil {
		t.Errorf("a wrong secret decrypted to a plausible key %x", k)
	}
	bad := append([]byte(nil), v...)
	bad[0] &^= 0x80
	if _, err := mppeKey(microsoft.MSMPPESendKey_Lookup(accept("xyzzy5461", bad))); err == nil {
		t.Error("salt without its high bit accepted")
	}
	if _, err := mppeKey(microsoft.MSMPPESendKey_Lookup(accept("xyzzy5461", v[:20]))); err == nil {
		t.Error("short value accepted")
	}
	req := radius.New(radius.CodeAccessRequest, []byte("s"))
	if k, err := mppeKey(microsoft.MSMPPERecvKey_Lookup(req.Response(radius.CodeAccessAccept), req)); k != nil || err != nil {
		t.Errorf("absent key = %x, %v; want nil, nil", k, err)
	}
}

// users is the fake server's user table.
var users = map[string]string{"alice": "alice-pw", "bob": "bob pw"}

// mschapv2Server is a fake RADIUS server's MS-CHAPv2 logic (RFC 2548
// §2.3): it checks the NT-Response with pkg/mschap and answers with
// MS-CHAP2-Success and the MPPE keys (layeh's encoder), or MS-CHAP-Error.
func mschapv2Server(extra func(resp *radius.Packet)) func(req *radius.Packet) *radius.Packet {
	return func(req *radius.Packet) *radius.Packet {
		user := rfc2865.UserName_GetString(req)
		ch := microsoft.MSCHAPChallenge_Get(req)
		r := microsoft.MSCHAP2Response_Get(req)
		pw, known := users[user]
		if len(ch) != 16 || len(r) != 50 {
			return req.Response(radius.CodeAccessReject)
		}
		var auth, peer [16]byte
		var nt [24]byte
		copy(auth[:], ch)
		copy(peer[:], r[2:18])
		copy(nt[:], r[26:50])
		if !known || !mschap.CheckNTResponse(auth, peer, user, pw, nt) {
			resp := req.Response(radius.CodeAccessReject)
			microsoft.MSCHAPError_Add(resp, append([]byte{r[0]}, "E=691 R=0 C=00000000000000000000000000000000 V=3 M=Bad password for "+user...))
			return resp
		}
		resp := req.Response(radius.CodeAccessAccept)
		s := mschap.GenerateAuthenticatorResponse(pw, nt, peer, auth, user)
		microsoft.MSCHAP2Success_Add(resp, append([]byte{r[0]}, s...))
		send, recv := mppe.MasterKeys(mschap.HashNTPasswordHash(mschap.NTPasswordHash(pw)), nt, true)
		microsoft.MSMPPESendKey_Add(resp, send[:])
		microsoft.MSMPPERecvKey_Add(resp, recv[:])
		microsoft.MSMPPEEncryptionPolicy_Add(resp, microsoft.MSMPPEEncryptionPolicy_Value_EncryptionRequired)
		microsoft.MSMPPEEncryptionTypes_Add(resp, microsoft.MSMPPEEncryptionTypes_Value_RC4128bitAllowed)
		if extra != nil {
			extra(resp)
		}
		return resp
	}
}

// mschapv2Request is what the PPP layer hands over for user/pw.
func mschapv2Request(user, pw string) *ppp.AuthRequest {
	var auth, peer [16]byte
	for i := range auth {
		auth[i], peer[i] = byte(i*7+1), byte(i*11+3)
	}
	nt := mschap.GenerateNTResponse(auth, peer, user, pw)
	resp := mschap.Response{PeerChallenge: peer, NTResponse: nt}
	return &ppp.AuthRequest{
		Proto: ppp.AuthMSCHAPv2, User: user, Ident: 0x42,
		Challenge: auth[:], Response: resp.Marshal(),
		Peer: netip.MustParseAddrPort("198.51.100.7:40000"),
	}
}

func TestMSCHAPv2Accept(t *testing.T) {
	srv := newFakeServer(t, "sekrit", mschapv2Server(func(resp *radius.Packet) {
		rfc2865.FramedIPAddress_Set(resp, net.IPv4(10, 79, 97, 50))
		rfc2865.SessionTimeout_Set(resp, 3600)
		rfc2865.IdleTimeout_Set(resp, 600)
		rfc2865.Class_Add(resp, []byte("class-1"))
		rfc2865.Class_Add(resp, []byte("class-2"))
		rfc2869.AcctInterimInterval_Set(resp, 300)
	}))
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
	req := mschapv2Request("alice", "alice-pw")
	res, err := c.Authenticate(context.Background(), req)
	if err != nil || !res.OK {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	var auth, peer [16]byte
	copy(auth[:], req.Challenge)
	r, _ := mschap.ParseResponse(req.Response)
	peer = r.PeerChallenge
	if want := mschap.GenerateAuthenticatorResponse("alice-pw", r.NTResponse, peer, auth, "alice"); res.AuthenticatorResponse != want {
		t.Errorf("AuthenticatorResponse = %q, want %q", res.AuthenticatorResponse, want)
	}
	send, recv := mppe.MasterKeys(mschap.HashNTPasswordHash(mschap.NTPasswordHash("alice-pw")), r.NTResponse, true)
	if !bytes.Equal(res.MPPESendKey, send[:]) || !bytes.Equal(res.MPPERecvKey, recv[:]) {
		t.Errorf("keys %x/%x, want %x/%x", res.MPPESendKey, res.MPPERecvKey, send, recv)
	}
	if !res.MPPERequired || res.FramedIP != netip.MustParseAddr("10.79.97.50") ||
		res.SessionTimeout != time.Hour || res.IdleTimeout != 10*time.Minute ||
		len(res.Class) != 2 || string(res.Class[1]) != "class-2" {
		t.Errorf("result %+v", res)
	}
	if c.logins[res].interim != 300*time.Second || c.SessionID(res) == "" {
		t.Errorf("login state %+v", c.logins[res])
	}
	// What the server saw (RFC 2548 §2.3.2 layout, NAS attributes).
	got := srv.reqs()[0]
	v := microsoft.MSCHAP2Response_Get(got)
	if len(v) != 50 || v[0] != 0x42 || !bytes.Equal(v[2:18], peer[:]) || !bytes.Equal(v[26:], r.NTResponse[:]) {
		t.Errorf("MS-CHAP2-Response % x", v)
	}
	if rfc2865.NASPortType_Get(got) != rfc2865.NASPortType_Value_Virtual ||
		rfc2865.ServiceType_Get(got) != rfc2865.ServiceType_Value_FramedUser ||
		rfc2865.FramedProtocol_Get(got) != rfc2865.FramedProtocol_Value_PPP ||
		rfc2865.CallingStationID_GetString(got) != "198.51.100.7" ||
		rfc2865.NASIdentifier_GetString(got) != "pptpbox-test" ||
		rfc2866.AcctSessionID_GetString(got) != c.SessionID(res) {
		t.Errorf("request attributes %v", got.Attributes)
	}
}

func TestReject(t *testing.T) {
	srv := newFakeServer(t, "sekrit", mschapv2Server(nil))
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "wrong"))
	if err != nil || res.OK || res.Message != "Bad password for alice" || res.FailureCode != 691 || res.Refusal != ppp.RefusalRadiusReject {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	// The server's E= reaches the link: an expired password is 648.
	srv3 := newFakeServer(t, "s3", func(req *radius.Packet) *radius.Packet {
		resp := req.Response(radius.CodeAccessReject)
		microsoft.MSCHAPError_Add(resp, []byte("\x42E=648 R=0 C=00000000000000000000000000000000 V=3 M=Password expired"))
		return resp
	})
	c3 := newTestClient(t, nil, Server{Auth: srv3.addr(), Secret: []byte("s3")})
	res, err = c3.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || res.OK || res.Message != "Password expired" || res.FailureCode != 648 {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	// Reply-Message when there is no MS-CHAP-Error.
	srv2 := newFakeServer(t, "s2", func(req *radius.Packet) *radius.Packet {
		resp := req.Response(radius.CodeAccessReject)
		rfc2865.ReplyMessage_SetString(resp, "Your account has expired\r\n")
		return resp
	})
	c2 := newTestClient(t, nil, Server{Auth: srv2.addr(), Secret: []byte("s2")})
	res, err = c2.Authenticate(context.Background(), mschapv2Request("bob", "bob pw"))
	if err != nil || res.OK || res.Message != "Your account has expired" || res.FailureCode != 0 {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	if s := c2.Stats(); s.Rejects != 1 || s.Accepts != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestAcceptUnusable: an Accept the link cannot use is a refusal.
func TestAcceptUnusable(t *testing.T) {
	for name, mutate := range map[string]func(*radius.Packet){
		"no success": func(p *radius.Packet) { microsoft.MSCHAP2Success_Del(p) },
		"bad success": func(p *radius.Packet) {
			microsoft.MSCHAP2Success_Del(p)
			microsoft.MSCHAP2Success_Add(p, []byte("\x42S=ZZ"+strings.Repeat("0", 38)))
		},
		"garbled key": func(p *radius.Packet) {
			microsoft.MSMPPESendKey_Del(p)
			microsoft.MSMPPESendKey_Add(p, []byte{1, 2, 3})
			// Damage the ciphertext so the length octet is wrong.
			for _, a := range p.Attributes {
				if a.Type == rfc2865.VendorSpecific_Type && len(a.Attribute) > 10 && a.Attribute[4] == msMPPESendKey {
					a.Attribute[8] ^= 0xff
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFakeServer(t, "k", mschapv2Server(mutate))
			c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("k")})
			res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
			if err != nil || res.OK {
				t.Fatalf("Authenticate = %+v, %v", res, err)
			}
		})
	}
}

// TestPAPAndCHAP: the attributes of the other protocols (RFC 2865 §5.2,
// §5.3, §5.40), checked by the fake server as a RADIUS server would.
func TestPAPAndCHAP(t *testing.T) {
	srv := newFakeServer(t, "k", func(req *radius.Packet) *radius.Packet {
		user := rfc2865.UserName_GetString(req)
		pw := users[user]
		ok := false
		if p, err := rfc2865.UserPassword_Lookup(req); err == nil {
			ok = string(p) == pw
		} else if cp := rfc2865.CHAPPassword_Get(req); len(cp) == 17 {
			h := md5.New()
			h.Write(cp[:1])
			h.Write([]byte(pw))
			h.Write(rfc2865.CHAPChallenge_Get(req))
			ok = bytes.Equal(h.Sum(nil), cp[1:])
		}
		if !ok {
			return req.Response(radius.CodeAccessReject)
		}
		return req.Response(radius.CodeAccessAccept)
	})
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("k")})
	chap := func(pw string) *ppp.AuthRequest {
		ch := []byte("0123456789abcdef")
		h := md5.New()
		h.Write([]byte{9})
		h.Write([]byte(pw))
		h.Write(ch)
		return &ppp.AuthRequest{Proto: ppp.AuthCHAPMD5, User: "bob", Ident: 9, Challenge: ch, Response: h.Sum(nil)}
	}
	for _, tc := range []struct {
		name string
		req  *ppp.AuthRequest
		ok   bool
	}{
		{"pap ok", &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "bob", Password: []byte("bob pw")}, true},
		{"pap wrong", &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "bob", Password: []byte("bob")}, false},
		{"chap ok", chap("bob pw"), true},
		{"chap wrong", chap("x"), false},
	} {
		res, err := c.Authenticate(context.Background(), tc.req)
		if err != nil || res.OK != tc.ok {
			t.Errorf("%s: %+v, %v", tc.name, res, err)
		}
	}
}

// TestBadRepliesDropped: replies that fail a check are dropped and
// counted; with nothing valid the request fails as "no server answered".
func TestBadRepliesDropped(t *testing.T) {
	for name, corrupt := range map[string]func([]byte) []byte{
		"identifier":    func(b []byte) []byte { b[1]++; return b },
		"response auth": func(b []byte) []byte { b[5] ^= 1; return b },
		"attribute":     func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"code":          func(b []byte) []byte { b[0] = byte(radius.CodeAccountingResponse); return b },
		"truncated":     func(b []byte) []byte { return b[:19] },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, "k", mschapv2Server(nil))
			// (A wrong or missing Message-Authenticator with a valid
			// Response Authenticator: msgauth_test.go.)
			srv.mu.Lock()
			srv.corrupt = corrupt
			srv.mu.Unlock()
			c := newTestClient(t, short, Server{Auth: srv.addr(), Secret: []byte("k")})
			_, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
			if !errors.Is(err, ErrNoServer) {
				t.Fatalf("err = %v, want ErrNoServer", err)
			}
			st := c.Stats()
			if st.BadReplies != 2 || st.Requests != 2 || st.Unreachable != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	// The wrong secret at the server: our request fails its check there.
	srv := newFakeServer(t, "other", mschapv2Server(nil))
	c := newTestClient(t, short, Server{Auth: srv.addr(), Secret: []byte("k")})
	if _, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); !errors.Is(err, ErrNoServer) {
		t.Fatalf("err = %v", err)
	}
	if srv.badReqs.Load() != 2 {
		t.Errorf("server saw %d bad requests, want 2 (resent)", srv.badReqs.Load())
	}
}

// TestFailover: a silent first server is given Retries+1 sends, then the
// second answers; while the first is marked dead, the next login goes to
// the second at once.
func TestFailover(t *testing.T) {
	silent := newFakeServer(t, "k", func(*radius.Packet) *radius.Packet { return nil })
	good := newFakeServer(t, "k2", mschapv2Server(nil))
	c := newTestClient(t, short, Server{Auth: silent.addr(), Secret: []byte("k")}, Server{Auth: good.addr(), Secret: []byte("k2")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	if silent.got.Load() != 2 {
		t.Errorf("silent server got %d sends, want 2", silent.got.Load())
	}
	sent := silent.reqs()
	if sent[0].Identifier != sent[1].Identifier || sent[0].Authenticator != sent[1].Authenticator {
		t.Error("a resend changed the Identifier or authenticator")
	}
	start := time.Now()
	if res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil || !res.OK {
		t.Fatalf("second login: %+v, %v", res, err)
	}
	if silent.got.Load() != 2 {
		t.Errorf("a dead server was asked again (took %v)", time.Since(start))
	}
	// Everything dead: still tried, and the error says so.
	c2 := newTestClient(t, short, Server{Auth: silent.addr(), Secret: []byte("k")})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c2.Authenticate(ctx, mschapv2Request("alice", "alice-pw")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// TestNASIPv6: an IPv6 nas_ip goes out as NAS-IPv6-Address (RFC 3162
// §2.1), an IPv4 one as NAS-IP-Address, never both.
func TestNASIPv6(t *testing.T) {
	for _, a := range []string{"2001:db8::7", "192.0.2.7"} {
		srv := newFakeServer(t, "sekrit", mschapv2Server(nil))
		c := newTestClient(t, func(c *Config) { c.NASIP = netip.MustParseAddr(a) }, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
		if res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil || !res.OK {
			t.Fatalf("Authenticate = %+v, %v", res, err)
		}
		got := srv.reqs()[0]
		v6, err6 := rfc3162.NASIPv6Address_Lookup(got)
		v4, err4 := rfc2865.NASIPAddress_Lookup(got)
		if netip.MustParseAddr(a).Is6() {
			if err6 != nil || !v6.Equal(net.ParseIP(a)) || err4 == nil {
				t.Errorf("%s: NAS-IPv6-Address %v (%v), NAS-IP-Address %v (%v)", a, v6, err6, v4, err4)
			}
		} else if err4 != nil || !v4.Equal(net.ParseIP(a)) || err6 == nil {
			t.Errorf("%s: NAS-IP-Address %v (%v), NAS-IPv6-Address %v (%v)", a, v4, err4, v6, err6)
		}
	}
}

// TestSource: Config.Source is the requests' source address (FreeRADIUS
// knows a NAS by it, so each box of a fleet must come from its own).
func TestSource(t *testing.T) {
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		srv := newFakeServer(t, "sekrit", mschapv2Server(nil))
		c := newTestClient(t, func(c *Config) { c.Source = netip.MustParseAddr(src) }, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
		if res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil || !res.OK {
			t.Fatalf("Authenticate = %+v, %v", res, err)
		}
		srv.mu.Lock()
		froms := slices.Clone(srv.froms)
		srv.mu.Unlock()
		if len(froms) != 1 || froms[0].String() != src {
			t.Errorf("requests came from %v, want %s", froms, src)
		}
	}
}

// TestRateLimitAttributes: Mikrotik-Rate-Limit (the generated helpers of
// pkg/radius/dict) becomes the result's RateLimit as written back by
// pkg/ratelimit, WISPr-Bandwidth-Max-Up/Down as "up/down" bits/s when
// there is no Mikrotik-Rate-Limit, and a value that does not parse refuses
// the login (the user was meant to be limited); the trace names them.
func TestRateLimitAttributes(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(*radius.Packet)
		want string // "" with ok: none
		ok   bool
	}{
		{"none", func(*radius.Packet) {}, "", true},
		{"mikrotik", func(p *radius.Packet) { mikrotik.MikrotikRateLimit_SetString(p, "512k/2000k 1M/4M") }, "512k/2M 1M/4M", true},
		{"wispr", func(p *radius.Packet) {
			wispr.WISPrBandwidthMaxUp_Set(p, 256000)
			wispr.WISPrBandwidthMaxDown_Set(p, 1000000)
		}, "256k/1M", true},
		{"wispr down only", func(p *radius.Packet) { wispr.WISPrBandwidthMaxDown_Set(p, 3000000) }, "0/3M", true},
		{"mikrotik wins", func(p *radius.Packet) {
			wispr.WISPrBandwidthMaxDown_Set(p, 3000000)
			mikrotik.MikrotikRateLimit_SetString(p, "1M")
		}, "1M", true},
		{"bad", func(p *radius.Packet) { mikrotik.MikrotikRateLimit_SetString(p, "fast") }, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, "sekrit", mschapv2Server(tt.set))
			c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
			res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
			if err != nil || res.OK != tt.ok || res.RateLimit != tt.want {
				t.Fatalf("Authenticate = OK %v RateLimit %q, %v; want %v %q", res.OK, res.RateLimit, err, tt.ok, tt.want)
			}
			if tt.name == "mikrotik" || tt.name == "wispr" {
				var names []string
				for _, a := range res.Attributes {
					names = append(names, a.Name+"="+a.Value)
				}
				line := strings.Join(names, " ")
				if !strings.Contains(line, `Mikrotik-Rate-Limit="512k/2000k 1M/4M"`) && !strings.Contains(line, "WISPr-Bandwidth-Max-Down=1000000") {
					t.Errorf("attributes %s", line)
				}
			}
		})
	}
}

// TestFramedRoute: each Framed-Route of an Access-Accept (RFC 2865 §5.22)
// becomes one of the result's Routes, as written (pkg/session parses them).
func TestFramedRoute(t *testing.T) {
	srv := newFakeServer(t, "sekrit", mschapv2Server(func(p *radius.Packet) {
		rfc2865.FramedRoute_AddString(p, "10.10.0.0/24 0.0.0.0 1")
		rfc2865.FramedRoute_AddString(p, "10.20.0.0/16")
	}))
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK || !slices.Equal(res.Routes, []string{"10.10.0.0/24 0.0.0.0 1", "10.20.0.0/16"}) {
		t.Fatalf("Authenticate = OK %v Routes %q, %v", res.OK, res.Routes, err)
	}
}
