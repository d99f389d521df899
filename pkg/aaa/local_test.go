package aaa

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testTable() *Local {
	return NewLocal([]LocalUser{
		{Name: "test", Password: "test.test"},
		{Name: "User", Password: "clientPass", IP: netip.MustParseAddr("10.79.97.50"), RateLimit: "512k/2M"},
		{Name: "v1", Password: "MyPw"},
		{Name: "test", Password: "shadowed by the first entry"},
	})
}

type want struct {
	ok       bool
	ip       netip.Addr
	limit    string
	authResp string
	sendKey  string
	recvKey  string
}

func run(t *testing.T, l *Local, req *ppp.AuthRequest, w want) {
	t.Helper()
	res, err := l.Authenticate(context.Background(), req)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.OK != w.ok {
		t.Fatalf("OK = %v, want %v (message %q)", res.OK, w.ok, res.Message)
	}
	if res.Message == "" {
		t.Errorf("empty message")
	}
	if !w.ok {
		if res.AuthenticatorResponse != "" || res.MPPESendKey != nil || res.MPPERecvKey != nil || res.FramedIP.IsValid() {
			t.Errorf("failure carries success data: %+v", res)
		}
		return
	}
	if res.RateLimit != w.limit {
		t.Errorf("RateLimit = %q, want %q", res.RateLimit, w.limit)
	}
	if res.FramedIP != w.ip {
		t.Errorf("FramedIP = %v, want %v", res.FramedIP, w.ip)
	}
	if res.AuthenticatorResponse != w.authResp {
		t.Errorf("AuthenticatorResponse = %q, want %q", res.AuthenticatorResponse, w.authResp)
	}
	for _, k := range []struct {
		name string
		got  []byte
		want string
	}{{"send", res.MPPESendKey, w.sendKey}, {"recv", res.MPPERecvKey, w.recvKey}} {
		if k.want == "" {
			if k.got != nil {
				t.Errorf("MPPE %s key %X, want none", k.name, k.got)
			}
			continue
		}
		if !bytes.Equal(k.got, unhex(t, k.want)) {
			t.Errorf("MPPE %s key = %X, want %s", k.name, k.got, k.want)
		}
	}
}

// authCase is one request and the verdict it must get.
type authCase struct {
	name string
	req  ppp.AuthRequest
	want want
}

func runCases(t *testing.T, proto ppp.AuthProto, cases []authCase) {
	t.Helper()
	l := testTable()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			req.Proto = proto
			run(t, l, &req, c.want)
		})
	}
}

func TestPAP(t *testing.T) {
	pap := func(user, password string) ppp.AuthRequest {
		return ppp.AuthRequest{User: user, Password: []byte(password)}
	}
	runCases(t, ppp.AuthPAP, []authCase{
		{"ok", pap("test", "test.test"), want{ok: true}},
		{"fixed ip", pap("User", "clientPass"), want{ok: true, ip: netip.MustParseAddr("10.79.97.50"), limit: "512k/2M"}},
		{"wrong password", pap("test", "test.tesT"), want{}},
		{"prefix of password", pap("test", "test"), want{}},
		{"second entry ignored", pap("test", "shadowed by the first entry"), want{}},
		{"unknown user", pap("nobody", "test.test"), want{}},
		{"empty", pap("", ""), want{}},
	})
}

func TestCHAPMD5(t *testing.T) {
	challenge := unhex(t, "00112233445566778899aabbccddeeff")
	// MD5(0x2a || "test.test" || challenge), computed outside Go.
	good := unhex(t, "0ff0a3594a394b53d963ef84f80eb012")
	chap := func(user string, ident uint8, challenge, response []byte) ppp.AuthRequest {
		return ppp.AuthRequest{User: user, Ident: ident, Challenge: challenge, Response: response}
	}
	runCases(t, ppp.AuthCHAPMD5, []authCase{
		{"ok", chap("test", 0x2a, challenge, good), want{ok: true}},
		{"other ident", chap("test", 0x2b, challenge, good), want{}},
		{"other challenge", chap("test", 0x2a, challenge[1:], good), want{}},
		{"short response", chap("test", 0x2a, challenge, good[:15]), want{}},
		{"no challenge", chap("test", 0x2a, nil, good), want{}},
		{"unknown user", chap("nobody", 0x2a, challenge, good), want{}},
	})
}

// ms builds an MS-CHAP request: the challenge we sent and the peer's value.
func ms(user string, challenge, response []byte) ppp.AuthRequest {
	return ppp.AuthRequest{User: user, Challenge: challenge, Response: response}
}

// RFC 2433 Appendix B: "MyPw", challenge 10 2D B5 DF 08 5D 30 41.
func TestMSCHAPv1(t *testing.T) {
	challenge := unhex(t, "10 2D B5 DF 08 5D 30 41")
	var nt [24]byte
	copy(nt[:], unhex(t, "4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61"))
	good := mschap.ResponseV1{NTResponse: nt, UseNT: true}.Marshal()
	lmOnly := mschap.ResponseV1{NTResponse: nt}.Marshal()
	// RFC 3079 §2.4 GetStartKey for "MyPw" and this challenge, computed
	// outside Go: SHA-1(MD4(MD4(UTF-16LE "MyPw")) x2 || challenge)[:16].
	key := "CFD3610CD9208EC8134BAEFF555F76CB"
	runCases(t, ppp.AuthMSCHAPv1, []authCase{
		{"ok", ms("v1", challenge, good), want{ok: true, sendKey: key, recvKey: key}},
		{"lm only", ms("v1", challenge, lmOnly), want{}},
		{"wrong password", ms("test", challenge, good), want{}},
		{"other challenge", ms("v1", unhex(t, "10 2D B5 DF 08 5D 30 40"), good), want{}},
		{"16-octet challenge", ms("v1", append(challenge, challenge...), good), want{}},
		{"short response", ms("v1", challenge, good[:48]), want{}},
		{"unknown user", ms("MyPw", challenge, good), want{}},
	})
}

// RFC 2759 §9.2 and RFC 3079 §3.5: "User" / "clientPass".
func TestMSCHAPv2(t *testing.T) {
	authChallenge := unhex(t, "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
	var peer [16]byte
	copy(peer[:], unhex(t, "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E"))
	var nt [24]byte
	copy(nt[:], unhex(t, "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"))
	good := mschap.Response{PeerChallenge: peer, NTResponse: nt}.Marshal()
	badNT := nt
	badNT[0] ^= 1
	bad := mschap.Response{PeerChallenge: peer, NTResponse: badNT}.Marshal()
	reserved := bytes.Clone(good)
	reserved[16] = 1
	okWant := want{
		ok:       true,
		ip:       netip.MustParseAddr("10.79.97.50"),
		limit:    "512k/2M",
		authResp: "S=407A5589115FD0D6209F510FE9C04566932CDA56",
		// Server send key: RFC 3079 §3.5.3's start key. The receive key is
		// the client's send key (Magic2), computed outside Go.
		sendKey: "8B7CDC149B993A1BA118CB153F56DCCB",
		recvKey: "D5F0E9521E3EA9589645E86051C82226",
	}
	runCases(t, ppp.AuthMSCHAPv2, []authCase{
		{"ok", ms("User", authChallenge, good), okWant},
		{"domain prefix", ms(`WORKGROUP\User`, authChallenge, good), okWant},
		{"wrong nt-response", ms("User", authChallenge, bad), want{}},
		{"name is case-sensitive", ms("user", authChallenge, good), want{}},
		{"other challenge", ms("User", authChallenge[:8], good), want{}},
		{"reserved octets set", ms("User", authChallenge, reserved), want{}},
		{"wrong password", ms("test", authChallenge, good), want{}},
		{"unknown user", ms("nobody", authChallenge, good), want{}},
	})
}

func TestUnsupportedAndCancelled(t *testing.T) {
	l := testTable()
	run(t, l, &ppp.AuthRequest{Proto: ppp.AuthNone, User: "test"}, want{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Authenticate(ctx, &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "test", Password: []byte("test.test")}); err == nil {
		t.Errorf("cancelled context: no error")
	}
}

func TestRefusalLogged(t *testing.T) {
	var buf bytes.Buffer
	l := testTable().WithLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	for _, tc := range []struct {
		req     *ppp.AuthRequest
		refusal string // what the counters see (AuthResult.Refusal)
	}{
		{&ppp.AuthRequest{Proto: ppp.AuthPAP, User: "nobody", Password: []byte("x")}, ppp.RefusalUnknownUser},
		{&ppp.AuthRequest{Proto: ppp.AuthPAP, User: "test", Password: []byte("x")}, ppp.RefusalBadPassword},
	} {
		res, err := l.Authenticate(context.Background(), tc.req)
		if err != nil || res.OK || res.Message != "Authentication failed" || res.Refusal != tc.refusal {
			t.Fatalf("%s: %+v, %v (want refusal %s)", tc.req.User, res, err, tc.refusal)
		}
	}
	for _, s := range []string{"reason=\"unknown user\"", "user=nobody", "reason=\"wrong password\"", "user=test"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("log lacks %s:\n%s", s, buf.String())
		}
	}
	if l.Len() != 3 {
		t.Errorf("Len = %d, want 3", l.Len())
	}
}
