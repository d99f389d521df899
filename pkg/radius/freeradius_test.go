package radius

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
)

const testUsers = `
alice	Cleartext-Password := "alice-pw"
	Class = "alice-class"

fixed	Cleartext-Password := "fixed-pw"
	Framed-IP-Address = 10.79.97.150,
	Session-Timeout = 3600,
	Idle-Timeout = 600,
	Acct-Interim-Interval = 1
`

// TestFreeRADIUS asks a real FreeRADIUS 3 about every protocol and checks
// what it returns against what pkg/mschap and pkg/mppe compute locally:
// the MS-CHAP2-Success authenticator response and the MPPE keys after
// RFC 2548 §2.4.2 decryption.
func TestFreeRADIUS(t *testing.T) {
	fr := radiustest.Start(t, radiustest.Options{Users: testUsers})
	c := newTestClient(t, func(cfg *Config) { cfg.Timeout = 2 * time.Second; cfg.MinInterim = time.Second },
		Server{Auth: fr.AuthAddr(), Acct: fr.AcctAddr(), Secret: []byte(fr.Secret)})
	ctx := context.Background()

	req := mschapv2Request("alice", "alice-pw")
	res, err := c.Authenticate(ctx, req)
	if err != nil || !res.OK {
		t.Fatalf("MS-CHAPv2: %+v, %v", res, err)
	}
	r, _ := mschap.ParseResponse(req.Response)
	var auth [16]byte
	copy(auth[:], req.Challenge)
	if want := mschap.GenerateAuthenticatorResponse("alice-pw", r.NTResponse, r.PeerChallenge, auth, "alice"); res.AuthenticatorResponse != want {
		t.Errorf("S= %q, want %q", res.AuthenticatorResponse, want)
	}
	send, recv := mppe.MasterKeys(mschap.HashNTPasswordHash(mschap.NTPasswordHash("alice-pw")), r.NTResponse, true)
	if !bytes.Equal(res.MPPESendKey, send[:]) || !bytes.Equal(res.MPPERecvKey, recv[:]) {
		t.Errorf("MPPE keys from FreeRADIUS %x/%x, computed %x/%x", res.MPPESendKey, res.MPPERecvKey, send, recv)
	}
	if !res.MPPERequired || len(res.Class) != 1 || string(res.Class[0]) != "alice-class" {
		t.Errorf("result %+v", res)
	}
	t.Logf("MS-CHAPv2 accept: S=%s send %x recv %x", res.AuthenticatorResponse[2:10], res.MPPESendKey[:4], res.MPPERecvKey[:4])

	res, err = c.Authenticate(ctx, mschapv2Request("alice", "wrong"))
	if err != nil || res.OK || res.Message == "" {
		t.Fatalf("wrong password: %+v, %v", res, err)
	}
	t.Logf("MS-CHAPv2 reject message: %q", res.Message)

	res, err = c.Authenticate(ctx, mschapv2Request("fixed", "fixed-pw"))
	if err != nil || !res.OK || res.FramedIP != netip.MustParseAddr("10.79.97.150") ||
		res.SessionTimeout != time.Hour || res.IdleTimeout != 10*time.Minute {
		t.Fatalf("fixed: %+v, %v", res, err)
	}
	fixedRes := res

	// PAP, CHAP, MS-CHAPv1.
	ch := []byte("0123456789abcdef")
	h := md5.New()
	h.Write([]byte{5})
	h.Write([]byte("alice-pw"))
	h.Write(ch)
	var c8 [8]byte
	copy(c8[:], "8octets!")
	v1 := mschap.ResponseV1{NTResponse: mschap.NTChallengeResponse(c8, "alice-pw"), UseNT: true}
	for _, tc := range []struct {
		name string
		req  *ppp.AuthRequest
		ok   bool
	}{
		{"pap", &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "alice", Password: []byte("alice-pw")}, true},
		{"pap wrong", &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "alice", Password: []byte("alice")}, false},
		{"chap", &ppp.AuthRequest{Proto: ppp.AuthCHAPMD5, User: "alice", Ident: 5, Challenge: ch, Response: h.Sum(nil)}, true},
		{"mschap", &ppp.AuthRequest{Proto: ppp.AuthMSCHAPv1, User: "alice", Ident: 3, Challenge: c8[:], Response: v1.Marshal()}, true},
	} {
		res, err := c.Authenticate(ctx, tc.req)
		if err != nil || res.OK != tc.ok {
			t.Errorf("%s: %+v, %v", tc.name, res, err)
			continue
		}
		if tc.name == "mschap" {
			k := mppe.MasterKeyV1(mschap.HashNTPasswordHash(mschap.NTPasswordHash("alice-pw")), c8)
			if !bytes.Equal(res.MPPESendKey, k[:]) {
				t.Errorf("MS-CHAPv1 key %x, want %x", res.MPPESendKey, k)
			}
		}
	}

	// Accounting: Start, Interim-Update (the reply's 1 s), Stop.
	rec := aaa.Record{User: "fixed", Peer: netip.MustParseAddr("198.51.100.7"), IP: fixedRes.FramedIP, CallID: 9, Result: fixedRes, Up: time.Now()}
	c.Start(rec, func() aaa.Record { r := rec; r.BytesIn, r.BytesOut = 4242, 2424; return r })
	radiustest.WaitFor(t, 10*time.Second, "interim update in the detail file", func() bool {
		return strings.Contains(fr.Detail(), "Interim-Update")
	})
	stop := rec
	stop.BytesIn, stop.BytesOut, stop.Time, stop.Cause = 1<<32+5, 77, 3*time.Second, aaa.CauseUserRequest
	c.Stop(stop)
	radiustest.WaitFor(t, 10*time.Second, "stop in the detail file", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Status-Type = Stop")
	})
	if err := c.AccountingOn(ctx, false); err != nil {
		t.Fatal(err)
	}
	d := fr.Detail()
	id := c.prefix
	for _, want := range []string{
		"Acct-Status-Type = Start", "Acct-Status-Type = Interim-Update", "Acct-Status-Type = Stop",
		"Acct-Status-Type = Accounting-Off", "Acct-Session-Id = \"" + id, "Framed-IP-Address = 10.79.97.150",
		"Acct-Input-Octets = 5", "Acct-Input-Gigawords = 1", "Acct-Output-Octets = 77",
		"Acct-Terminate-Cause = User-Request", "Calling-Station-Id = \"198.51.100.7\"",
		"NAS-Port-Type = Virtual", "Acct-Session-Time = 3",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("detail file lacks %q:\n%s", want, d)
		}
	}
	if s := c.Stats(); s.BadReplies != 0 || s.Timeouts != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestFreeRADIUSFailover: the first server is dead (nothing on its port:
// ICMP port unreachable), the second is FreeRADIUS.
func TestFreeRADIUSFailover(t *testing.T) {
	fr := radiustest.Start(t, radiustest.Options{Users: testUsers})
	dead := net.JoinHostPort("127.0.0.1", strconv.Itoa(radiustest.FreePorts(t, 1)[0]))
	c := newTestClient(t, func(cfg *Config) { cfg.Timeout = 2 * time.Second },
		Server{Auth: dead, Acct: dead, Secret: []byte("x")},
		Server{Auth: fr.AuthAddr(), Acct: fr.AcctAddr(), Secret: []byte(fr.Secret)})
	start := time.Now()
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatalf("%+v, %v", res, err)
	}
	t.Logf("failover login took %v", time.Since(start))
}

// TestFreeRADIUSUnsigned: a FreeRADIUS that does not sign its Access
// replies (Debian 12's 3.2.1 without radiustest's post-auth policy) is,
// with require_message_authenticator on, a server that never answers: its
// Accept and Reject are dropped and counted. With the switch off both are
// believed. A FreeRADIUS that signs by itself (3.2.5+) is reported.
func TestFreeRADIUSUnsigned(t *testing.T) {
	fr := radiustest.Start(t, radiustest.Options{Users: testUsers, Unsigned: true})
	srv := Server{Auth: fr.AuthAddr(), Acct: fr.AcctAddr(), Secret: []byte(fr.Secret)}
	strict := newTestClient(t, func(cfg *Config) { cfg.Timeout = 500 * time.Millisecond }, srv)
	ctx := context.Background()
	res, err := strict.Authenticate(ctx, mschapv2Request("alice", "alice-pw"))
	if err == nil {
		if !res.OK {
			t.Fatalf("%+v", res)
		}
		t.Skip("this FreeRADIUS signs its Access-Accepts without being told to (3.2.5+)")
	}
	if !errors.Is(err, ErrNoServer) {
		t.Fatal(err)
	}
	if _, err := strict.Authenticate(ctx, mschapv2Request("alice", "wrong")); !errors.Is(err, ErrNoServer) {
		t.Fatalf("unsigned Access-Reject: %v", err)
	}
	if st := strict.Stats(); st.UnsignedReplies != 4 || st.Accepts != 0 || st.Rejects != 0 {
		t.Errorf("stats %+v", st)
	}
	// Accounting-Responses need no signature (FreeRADIUS 3.2.1 signs none).
	if err := strict.AccountingOn(ctx, true); err != nil {
		t.Errorf("accounting-on: %v", err)
	}
	lenient := newTestClient(t, func(cfg *Config) { cfg.AllowUnsignedReplies = true }, srv)
	if res, err := lenient.Authenticate(ctx, mschapv2Request("alice", "alice-pw")); err != nil || !res.OK {
		t.Fatalf("switch off, accept: %+v, %v", res, err)
	}
	if res, err := lenient.Authenticate(ctx, mschapv2Request("alice", "wrong")); err != nil || res.OK {
		t.Fatalf("switch off, reject: %+v, %v", res, err)
	}
}
