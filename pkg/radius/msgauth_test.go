package radius

import (
	"context"
	"errors"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// forgedReply encodes a reply as a Blast-RADIUS (CVE-2024-3596) attacker
// ends up with one: the Response Authenticator is valid (the attack gets it
// through an MD5 chosen-prefix collision), but the Message-Authenticator,
// an HMAC the attacker cannot compute without the secret, is wrong.
func forgedReply(p *radius.Packet) ([]byte, error) {
	q := *p
	q.Attributes = append(radius.Attributes(nil), p.Attributes...)
	q.Secret = []byte("not-the-secret")
	b, err := signedPacket(&q)
	if err != nil {
		return nil, err
	}
	authenticate(b, p.Secret)
	return b, nil
}

// codeServer answers every Access-Request with code (and a Reply-Message).
func codeServer(code radius.Code) func(*radius.Packet) *radius.Packet {
	return func(req *radius.Packet) *radius.Packet {
		if req.Code != radius.CodeAccessRequest {
			return nil
		}
		return req.Response(code)
	}
}

// TestAccessReplyNeedsMessageAuthenticator: an Access-Accept, -Reject or
// -Challenge without a Message-Authenticator, or with a wrong one, is
// dropped and counted as if it had not come (the request times out: no
// server answered); a signed one is believed.
func TestAccessReplyNeedsMessageAuthenticator(t *testing.T) {
	for _, code := range []radius.Code{radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge} {
		for _, mode := range []string{"unsigned", "forged", "signed"} {
			t.Run(code.String()+"/"+mode, func(t *testing.T) {
				t.Parallel()
				handle := codeServer(code)
				if code == radius.CodeAccessAccept {
					handle = mschapv2Server(nil)
				}
				srv := newFakeServer(t, "k", handle)
				srv.mu.Lock()
				switch mode {
				case "unsigned":
					srv.addMA = false
				case "forged":
					srv.encode = forgedReply
				}
				srv.mu.Unlock()
				c := newTestClient(t, short, Server{Auth: srv.addr(), Secret: []byte("k")})
				res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
				st := c.Stats()
				if mode == "signed" {
					if err != nil || res.OK != (code == radius.CodeAccessAccept) {
						t.Fatalf("signed %v: %+v, %v", code, res, err)
					}
					if st.BadReplies != 0 || st.UnsignedReplies != 0 || st.BadMsgAuth != 0 {
						t.Errorf("stats %+v", st)
					}
					return
				}
				if !errors.Is(err, ErrNoServer) {
					t.Fatalf("%s %v believed: %+v, %v", mode, code, res, err)
				}
				want := Stats{Requests: 2, Timeouts: 2, BadReplies: 2, Unreachable: 1}
				if mode == "unsigned" {
					want.UnsignedReplies = 2
				} else {
					want.BadMsgAuth = 2
				}
				if st != want {
					t.Errorf("stats %+v, want %+v", st, want)
				}
			})
		}
	}
}

// TestUnsignedAcceptFailsOver: the dropped reply is no answer, so the
// next server is asked, as when the first is silent.
func TestUnsignedAcceptFailsOver(t *testing.T) {
	unsigned := newFakeServer(t, "k", mschapv2Server(nil))
	unsigned.mu.Lock()
	unsigned.addMA = false
	unsigned.mu.Unlock()
	good := newFakeServer(t, "k2", mschapv2Server(nil))
	c := newTestClient(t, short, Server{Auth: unsigned.addr(), Secret: []byte("k")}, Server{Auth: good.addr(), Secret: []byte("k2")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatalf("%+v, %v", res, err)
	}
	if st := c.Stats(); st.UnsignedReplies != 2 || st.Accepts != 1 || st.Unreachable != 0 || good.got.Load() != 1 {
		t.Errorf("stats %+v, good server asked %d times", st, good.got.Load())
	}
}

// TestAllowUnsignedReplies: with require_message_authenticator off, an
// unsigned Accept is believed (an old server), a wrong signature never is.
func TestAllowUnsignedReplies(t *testing.T) {
	allow := func(cfg *Config) { short(cfg); cfg.AllowUnsignedReplies = true }
	srv := newFakeServer(t, "k", mschapv2Server(nil))
	srv.mu.Lock()
	srv.addMA = false
	srv.mu.Unlock()
	c := newTestClient(t, allow, Server{Auth: srv.addr(), Secret: []byte("k")})
	if res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil || !res.OK {
		t.Fatalf("unsigned accept with the switch off: %+v, %v", res, err)
	}
	forged := newFakeServer(t, "k", mschapv2Server(nil))
	forged.mu.Lock()
	forged.encode = forgedReply
	forged.mu.Unlock()
	c = newTestClient(t, allow, Server{Auth: forged.addr(), Secret: []byte("k")})
	if res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); !errors.Is(err, ErrNoServer) {
		t.Fatalf("forged accept believed: %+v, %v", res, err)
	}
	if st := c.Stats(); st.BadMsgAuth != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestAccountingResponseUnsigned: ToughRADIUS never signs an
// Accounting-Response, so an unsigned one is taken; a wrongly signed one
// is dropped (and the accounting is lost).
func TestAccountingResponseUnsigned(t *testing.T) {
	srv := acctServer(t, "k")
	srv.mu.Lock()
	srv.addMA = false
	srv.mu.Unlock()
	c := newTestClient(t, short, Server{Acct: srv.addr(), Secret: []byte("k")})
	if err := c.AccountingOn(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.AcctSent != 1 || st.BadReplies != 0 || st.UnsignedReplies != 0 {
		t.Errorf("stats %+v", st)
	}
	srv.mu.Lock()
	srv.encode = forgedReply
	srv.mu.Unlock()
	if err := c.AccountingOn(context.Background(), false); !errors.Is(err, ErrNoServer) {
		t.Fatalf("forged Accounting-Response believed: %v", err)
	}
	if st := c.Stats(); st.BadMsgAuth != 2 || st.AcctLost != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestMessageAuthenticatorFirst: our requests carry the Message-
// Authenticator as their first attribute (the Blast-RADIUS advisories'
// advice: a server then signs before reading attributes an attacker may
// have shaped), and so do DAE responses.
func TestMessageAuthenticatorFirst(t *testing.T) {
	auth := newFakeServer(t, "k", mschapv2Server(nil))
	acct := acctServer(t, "k")
	c := newTestClient(t, nil, Server{Auth: auth.addr(), Acct: acct.addr(), Secret: []byte("k")})
	if _, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil {
		t.Fatal(err)
	}
	if err := c.AccountingOn(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(auth.reqs(), acct.reqs()...) {
		if len(p.Attributes) == 0 || p.Attributes[0].Type != rfc2869.MessageAuthenticator_Type {
			t.Errorf("%v: first attribute %v", p.Code, p.Attributes[0].Type)
		}
	}
	req := radius.New(radius.CodeAccessRequest, []byte("k"))
	b, err := encodeResponse(req.Response(radius.CodeAccessAccept))
	if err != nil {
		t.Fatal(err)
	}
	if b[20] != byte(rfc2869.MessageAuthenticator_Type) {
		t.Errorf("response's first attribute %d", b[20])
	}
}
