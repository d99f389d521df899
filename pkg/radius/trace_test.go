package radius

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/microsoft"

	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// recTracer records a traced login's lines.
type recTracer struct {
	mu    sync.Mutex
	lines []string
}

func (r *recTracer) Tracing() bool   { return true }
func (r *recTracer) Identify(string) {}
func (r *recTracer) Trace(layer, dir, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, layer+" "+dir+" "+text)
}

func (r *recTracer) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// secretsOf are what must never show on a trace of req answered by
// resp under secret: the password, the NT-Response, the MPPE keys (clear
// and as sent), the S= authenticator response, the secret.
func secretsOf(t *testing.T, req *ppp.AuthRequest, pw string, secret string, sent []*radius.Packet) map[string][]byte {
	t.Helper()
	s := map[string][]byte{"password": []byte(pw), "secret": []byte(secret)}
	if req.Proto == ppp.AuthMSCHAPv2 {
		r, err := mschap.ParseResponse(req.Response)
		if err != nil {
			t.Fatal(err)
		}
		var ac [16]byte
		copy(ac[:], req.Challenge)
		s["NT-Response"] = r.NTResponse[:]
		sr := mschap.GenerateAuthenticatorResponse(pw, r.NTResponse, r.PeerChallenge, ac, req.User)
		s["S="] = []byte(sr[2:])
		send, recv := mppe.MasterKeys(mschap.HashNTPasswordHash(mschap.NTPasswordHash(pw)), r.NTResponse, true)
		s["send key"], s["recv key"] = send[:], recv[:]
	}
	for _, p := range sent {
		if v := rfc2865.UserPassword_Get(p); len(v) > 0 {
			s["User-Password (hidden)"] = v
		}
		for _, a := range p.Attributes {
			if a.Type == 80 {
				s["Message-Authenticator"] = a.Attribute
			}
		}
	}
	return s
}

// assertNoSecrets fails if out shows any secret: as text, in hex (both
// cases) or as Go's %q would print raw bytes.
func assertNoSecrets(t *testing.T, out string, secrets map[string][]byte) {
	t.Helper()
	for name, v := range secrets {
		if len(v) < 4 {
			continue
		}
		h := hex.EncodeToString(v)
		for _, form := range []string{string(v), h, strings.ToUpper(h), h[:min(16, len(h))], strings.ToUpper(h[:min(16, len(h))])} {
			if strings.Contains(out, form) {
				t.Errorf("the trace shows the %s (%q)", name, form)
			}
		}
	}
}

// TestTraceMSCHAPv2: a traced login shows the Access-Request and the
// Access-Accept with their attributes, and no secret.
func TestTraceMSCHAPv2(t *testing.T) {
	srv := newFakeServer(t, "sekrit", mschapv2Server(func(resp *radius.Packet) {
		rfc2865.FramedIPAddress_Set(resp, net.IPv4(10, 79, 97, 50))
		rfc2865.SessionTimeout_Set(resp, 3600)
		rfc2865.Class_Add(resp, []byte("class-1"))
	}))
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
	req := mschapv2Request("alice", "alice-pw")
	tr := &recTracer{}
	req.Trace = tr
	res, err := c.Authenticate(context.Background(), req)
	if err != nil || !res.OK {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	out := tr.text()
	for _, want := range []string{
		"radius sent [Access-Request id=0x",
		"to " + srv.addr(),
		"<Message-Authenticator <hidden 16 bytes>>",
		`<User-Name "alice">`,
		"<MS-CHAP-Challenge 0x",
		"<MS-CHAP2-Response <hidden 50 bytes>>",
		"<NAS-Port-Type Virtual>", "<Service-Type Framed-User>", "<Framed-Protocol PPP>",
		`<Calling-Station-Id "198.51.100.7">`, `<NAS-Identifier "pptpbox-test">`, `<Acct-Session-Id "`,
		"radius rcvd [Access-Accept id=0x", "from " + srv.addr(),
		"<MS-CHAP2-Success <hidden 43 bytes>>",
		"<MS-MPPE-Send-Key <hidden 34 bytes>>", "<MS-MPPE-Recv-Key <hidden 34 bytes>>",
		"<MS-MPPE-Encryption-Policy Encryption-Required>", "<MS-MPPE-Encryption-Types RC4-128bit-Allowed>",
		"<Framed-IP-Address 10.79.97.50>", "<Session-Timeout 3600>", "<Class 0x636c6173732d31>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q\n%s", want, out)
		}
	}
	assertNoSecrets(t, out, secretsOf(t, req, "alice-pw", "sekrit", srv.reqs()))
	if !bytes.Equal(res.MPPESendKey, secretsOf(t, req, "alice-pw", "", nil)["send key"]) {
		t.Fatal("the test's send key is not the one the login got")
	}
}

// TestTraceRejectAndPAP: a reject shows the server's MS-CHAP-Error and
// why; a PAP request its User-Password masked.
func TestTraceRejectAndPAP(t *testing.T) {
	srv := newFakeServer(t, "sekrit", mschapv2Server(nil))
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
	req := mschapv2Request("alice", "wrong-pw")
	tr := &recTracer{}
	req.Trace = tr
	if res, err := c.Authenticate(context.Background(), req); err != nil || res.OK {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	out := tr.text()
	for _, want := range []string{"radius rcvd [Access-Reject id=0x", `<MS-CHAP-Error "E=691 R=0 C=`, "radius  refused: Access-Reject: Bad password for alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q\n%s", want, out)
		}
	}
	assertNoSecrets(t, out, secretsOf(t, req, "wrong-pw", "sekrit", srv.reqs()))

	psrv := newFakeServer(t, "k2", func(req *radius.Packet) *radius.Packet { return req.Response(radius.CodeAccessReject) })
	pc := newTestClient(t, nil, Server{Auth: psrv.addr(), Secret: []byte("k2")})
	ptr := &recTracer{}
	preq := &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "bob", Password: []byte("bob-secret-pw"), Trace: ptr}
	if _, err := pc.Authenticate(context.Background(), preq); err != nil {
		t.Fatal(err)
	}
	pout := ptr.text()
	if !strings.Contains(pout, "<User-Password <hidden 16 bytes>>") {
		t.Errorf("PAP request: %s", pout)
	}
	assertNoSecrets(t, pout, secretsOf(t, preq, "bob-secret-pw", "k2", psrv.reqs()))
}

// TestTraceNoServer: a login no server answers says so.
func TestTraceNoServer(t *testing.T) {
	srv := newFakeServer(t, "k", func(*radius.Packet) *radius.Packet { return nil })
	c := newTestClient(t, short, Server{Auth: srv.addr(), Secret: []byte("k")})
	req := mschapv2Request("alice", "alice-pw")
	tr := &recTracer{}
	req.Trace = tr
	if _, err := c.Authenticate(context.Background(), req); err == nil {
		t.Fatal("no error from a silent server")
	}
	if out := tr.text(); !strings.Contains(out, "radius  no verdict: radius: no RADIUS server answered") {
		t.Errorf("trace:\n%s", out)
	}
}

// TestDescribeAttributesMasks: every secret attribute prints as its length.
func TestDescribeAttributesMasks(t *testing.T) {
	p := radius.New(radius.CodeAccessAccept, []byte("s"))
	key := bytes.Repeat([]byte{0x5a}, 34)
	ms := func(typ byte, v []byte) {
		a := append([]byte{0, 0, 1, 55, typ, byte(2 + len(v))}, v...) // vendor 311
		p.Add(rfc2865.VendorSpecific_Type, a)
	}
	ms(msMPPESendKey, key)
	ms(msMPPERecvKey, key)
	ms(msCHAPMPPEKeys, key[:32])
	ms(msCHAP2Success, []byte("\x01S=0123456789ABCDEF0123456789ABCDEF01234567"))
	ms(1, bytes.Repeat([]byte{0x5a}, 50))
	rfc2865.CHAPPassword_Add(p, bytes.Repeat([]byte{0x5a}, 17))
	p.Add(80, bytes.Repeat([]byte{0x5a}, 16))
	p.Add(69, []byte("tunnel-pw"))
	p.Add(200, []byte{1, 2, 3})
	var got []string
	for _, a := range DescribeAttributes(p) {
		got = append(got, a.String())
	}
	out := strings.Join(got, " ")
	want := "<MS-MPPE-Send-Key <hidden 34 bytes>> <MS-MPPE-Recv-Key <hidden 34 bytes>> <MS-CHAP-MPPE-Keys <hidden 32 bytes>> " +
		"<MS-CHAP2-Success <hidden 43 bytes>> <MS-CHAP-Response <hidden 50 bytes>> <CHAP-Password <hidden 17 bytes>> " +
		"<Message-Authenticator <hidden 16 bytes>> <Tunnel-Password <hidden 9 bytes>> <Attr-200 0x010203>"
	if out != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// FuzzDescribeAttributes: any packet describes without panicking, and no
// secret attribute's value shows.
func FuzzDescribeAttributes(f *testing.F) {
	req, _ := fuzzRequest()
	resp := req.Response(radius.CodeAccessAccept)
	microsoft.MSMPPESendKey_Add(resp, bytes.Repeat([]byte{0x77}, 34))
	microsoft.MSCHAP2Success_Add(resp, []byte("\x01S=0123456789ABCDEF0123456789ABCDEF01234567"))
	rfc2865.ReplyMessage_SetString(resp, "hello")
	rfc2865.FramedIPAddress_Set(resp, net.IPv4(10, 0, 0, 1))
	b, _ := resp.Encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := radius.Parse(b, fuzzSecret)
		if err != nil {
			return
		}
		attrs := DescribeAttributes(p)
		out := describePacket(p, "from x", attrs)
		for _, a := range attrs {
			if strings.ContainsAny(a.Value, "\n\r") {
				t.Fatalf("a value breaks the line: %q", a.Value)
			}
		}
		if strings.ContainsAny(out, "\n\r\x1b") {
			t.Fatalf("the line carries control characters: %q", out)
		}
		// No secret's value shows: the line is the same with every
		// secret's bytes flipped (an unrelated attribute may well hold the
		// same bytes as a secret, so looking for them in the line cannot tell).
		q, err := radius.Parse(b, fuzzSecret)
		if err != nil {
			t.Fatal(err)
		}
		flipSecrets(q)
		if out2 := describePacket(q, "from x", DescribeAttributes(q)); out2 != out {
			t.Fatalf("a secret's value shows:\n%s\n%s", out, out2)
		}
	})
}

// flipSecrets inverts the bytes of every secret attribute's value in p, in
// place, Microsoft sub-attributes included.
func flipSecrets(p *radius.Packet) {
	flip := func(v []byte) {
		for i := range v {
			v[i] ^= 0xff
		}
	}
	for _, avp := range p.Attributes {
		if def, ok := attrDefs[avp.Type]; ok && def.kind == kindSecret {
			flip(avp.Attribute)
		}
		if avp.Type != rfc2865.VendorSpecific_Type {
			continue
		}
		id, v, err := radius.VendorSpecific(avp.Attribute)
		if err != nil || id != msVendor {
			continue
		}
		for len(v) >= 2 && int(v[1]) >= 2 && int(v[1]) <= len(v) {
			if def, ok := msDefs[v[0]]; ok && def.kind == kindSecret {
				flip(v[2:v[1]])
			}
			v = v[v[1]:]
		}
	}
}
