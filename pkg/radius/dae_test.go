package radius

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/radius/dict/mikrotik"
	"github.com/pptpbox/pptpbox/pkg/radius/dict/wispr"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

var daeSrc = netip.MustParseAddr("192.0.2.10")

// daeRig is a Client with one started session (alice, call 7) and a DAE
// whose hang-ups are recorded.
type daeRig struct {
	c       *Client
	d       *DAE
	id      string
	calls   []uint16
	users   []string
	secret  []byte
	running bool
	nextID  byte // Identifiers of the requests: distinct, so none is a duplicate
}

func newDAERig(t *testing.T) *daeRig {
	authSrv := newFakeServer(t, "k", mschapv2Server(nil))
	c := newTestClient(t, nil, Server{Auth: authSrv.addr(), Secret: []byte("k")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatal(res, err)
	}
	r := &daeRig{c: c, id: c.SessionID(res), secret: []byte("dae-secret"), running: true}
	rec := aaa.Record{User: "alice", CallID: 7, Result: res}
	c.Start(rec, func() aaa.Record { return rec })
	r.d = c.NewDAE(DAEConfig{
		Clients: map[netip.Addr][]byte{daeSrc: r.secret},
		HangupCall: func(id uint16) bool {
			r.calls = append(r.calls, id)
			return id == 7 && r.running
		},
		HangupUser: func(u string) int {
			r.users = append(r.users, u)
			if u == "alice" && r.running {
				return 1
			}
			return 0
		},
		Logger: testLogger(t),
	})
	return r
}

func (r *daeRig) request(t *testing.T, code radius.Code, secret []byte, attrs func(p *radius.Packet)) []byte {
	p := radius.New(code, secret)
	r.nextID++
	p.Identifier = r.nextID
	if attrs != nil {
		attrs(p)
	}
	b, err := encodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answer sends a request of code with attrs and checks that the answer
// passes its checks and is want with Error-Cause cause; false if not.
func (r *daeRig) answer(t *testing.T, name string, code radius.Code, attrs func(p *radius.Packet), want radius.Code, cause rfc3576.ErrorCause) bool {
	t.Helper()
	req := r.request(t, code, r.secret, attrs)
	out := r.d.Handle(req, daeSrc)
	if out == nil {
		t.Errorf("%s: dropped", name)
		return false
	}
	resp, err := checkReplyDAE(out, req, r.secret)
	if err != nil {
		t.Errorf("%s: response fails its checks: %v", name, err)
		return false
	}
	if resp.Code != want || rfc3576.ErrorCause_Get(resp) != cause {
		t.Errorf("%s: %v %v, want %v %v", name, resp.Code, rfc3576.ErrorCause_Get(resp), want, cause)
		return false
	}
	return true
}

func TestDAE(t *testing.T) {
	r := newDAERig(t)
	for _, tc := range []struct {
		name  string
		code  radius.Code
		attrs func(p *radius.Packet)
		want  radius.Code
		cause rfc3576.ErrorCause
	}{
		{"by session id", radius.CodeDisconnectRequest, func(p *radius.Packet) { rfc2866.AcctSessionID_SetString(p, r.id) }, radius.CodeDisconnectACK, 0},
		{"by user", radius.CodeDisconnectRequest, func(p *radius.Packet) { rfc2865.UserName_SetString(p, "alice") }, radius.CodeDisconnectACK, 0},
		{"both agree", radius.CodeDisconnectRequest, func(p *radius.Packet) {
			rfc2866.AcctSessionID_SetString(p, r.id)
			rfc2865.UserName_SetString(p, "alice")
			rfc2865.NASIdentifier_SetString(p, "pptpbox-test")
		}, radius.CodeDisconnectACK, 0},
		{"both disagree", radius.CodeDisconnectRequest, func(p *radius.Packet) {
			rfc2866.AcctSessionID_SetString(p, r.id)
			rfc2865.UserName_SetString(p, "bob")
		}, radius.CodeDisconnectNAK, rfc3576.ErrorCause_Value_SessionContextNotFound},
		{"unknown session", radius.CodeDisconnectRequest, func(p *radius.Packet) { rfc2866.AcctSessionID_SetString(p, "nope") }, radius.CodeDisconnectNAK, rfc3576.ErrorCause_Value_SessionContextNotFound},
		{"unknown user", radius.CodeDisconnectRequest, func(p *radius.Packet) { rfc2865.UserName_SetString(p, "bob") }, radius.CodeDisconnectNAK, rfc3576.ErrorCause_Value_SessionContextNotFound},
		{"nothing named", radius.CodeDisconnectRequest, nil, radius.CodeDisconnectNAK, rfc3576.ErrorCause_Value_MissingAttribute},
		{"other NAS", radius.CodeDisconnectRequest, func(p *radius.Packet) {
			rfc2865.UserName_SetString(p, "alice")
			rfc2865.NASIdentifier_SetString(p, "another-nas")
		}, radius.CodeDisconnectNAK, rfc3576.ErrorCause_Value_NASIdentificationMismatch},
		{"unsupported attribute", radius.CodeDisconnectRequest, func(p *radius.Packet) {
			rfc2865.UserName_SetString(p, "alice")
			rfc2865.SessionTimeout_Set(p, 10)
		}, radius.CodeDisconnectNAK, rfc3576.ErrorCause_Value_UnsupportedAttribute},
		{"coa", radius.CodeCoARequest, func(p *radius.Packet) { rfc2865.UserName_SetString(p, "alice") }, radius.CodeCoANAK, rfc3576.ErrorCause_Value_UnsupportedService},
	} {
		r.answer(t, tc.name, tc.code, tc.attrs, tc.want, tc.cause)
	}
	if len(r.calls) < 2 || r.calls[0] != 7 {
		t.Errorf("hangups by call %v", r.calls)
	}
	// A retransmission gets the same answer without a second hang-up.
	once := r.request(t, radius.CodeDisconnectRequest, r.secret, func(p *radius.Packet) { rfc2865.UserName_SetString(p, "alice") })
	first := r.d.Handle(once, daeSrc)
	n := len(r.users)
	if again := r.d.Handle(once, daeSrc); string(again) != string(first) || len(r.users) != n {
		t.Errorf("retransmission: answer differs or acted again (%d hang-ups, was %d)", len(r.users), n)
	}
	// Dropped: unknown source, wrong secret, a reply code.
	good := r.request(t, radius.CodeDisconnectRequest, r.secret, func(p *radius.Packet) { rfc2865.UserName_SetString(p, "alice") })
	if r.d.Handle(good, netip.MustParseAddr("192.0.2.99")) != nil {
		t.Error("request from an unknown source answered")
	}
	if r.d.Handle(r.request(t, radius.CodeDisconnectRequest, []byte("wrong"), nil), daeSrc) != nil {
		t.Error("request with a wrong secret answered")
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1 // the Message-Authenticator (last)
	if r.d.Handle(bad, daeSrc) != nil {
		t.Error("request with a bad Message-Authenticator answered")
	}
	if s := r.d.Stats(); s.Dropped != 3 || s.ACKs != 4 || s.NAKs != 7 {
		t.Errorf("stats %+v", s)
	}
}

// checkReplyDAE checks a DAE response like a server would.
func checkReplyDAE(b, req, secret []byte) (*radius.Packet, error) {
	p, err := radius.Parse(b, secret)
	if err != nil {
		return nil, err
	}
	if !radius.IsAuthenticResponse(b, req, secret) {
		return nil, errString("bad response authenticator")
	}
	if err := checkMessageAuthenticator(b, req[4:20], secret, true); err != nil {
		return nil, err
	}
	return p, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// TestDAEServe: the listener over UDP.
func TestDAEServe(t *testing.T) {
	r := newDAERig(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.d.cfg.Clients = map[netip.Addr][]byte{netip.MustParseAddr("127.0.0.1"): r.secret}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.d.Serve(ctx, pc) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := r.request(t, radius.CodeDisconnectRequest, r.secret, func(p *radius.Packet) { rfc2866.AcctSessionID_SetString(p, r.id) })
	conn.Write(req)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := checkReplyDAE(buf[:n], req, r.secret)
	if err != nil || resp.Code != radius.CodeDisconnectACK {
		t.Fatalf("%v %v", resp, err)
	}
}

// FuzzDAE: any datagram from a configured server: no panic, and an
// answer only to a request that passes the authenticator checks.
func FuzzDAE(f *testing.F) {
	secret := []byte("dae-secret")
	for _, code := range []radius.Code{radius.CodeDisconnectRequest, radius.CodeCoARequest} {
		p := radius.New(code, secret)
		rfc2865.UserName_SetString(p, "alice")
		rfc2866.AcctSessionID_SetString(p, "00000001")
		b, _ := encodeRequest(p)
		f.Add(b)
	}
	c, _ := New(Config{Servers: []Server{{Auth: "127.0.0.1:1", Secret: []byte("k")}}})
	// With an Event-Timestamp (RFC 5176 §6.3) at the fuzz clock's time.
	p := radius.New(radius.CodeDisconnectRequest, secret)
	rfc2865.UserName_SetString(p, "alice")
	rfc2869.EventTimestamp_Set(p, clockNow)
	b, _ := encodeRequest(p)
	f.Add(b)
	// CoA-Requests changing what boxd changes (coa.go).
	p = radius.New(radius.CodeCoARequest, secret)
	rfc2865.UserName_SetString(p, "alice")
	mikrotik.MikrotikRateLimit_SetString(p, "1M/2M 2M/4M 1M/2M 8/8")
	rfc2865.SessionTimeout_Set(p, 60)
	b, _ = encodeRequest(p)
	f.Add(b)
	p = radius.New(radius.CodeCoARequest, secret)
	rfc2866.AcctSessionID_SetString(p, "00000001")
	wispr.WISPrBandwidthMaxUp_Set(p, 64000)
	b, _ = encodeRequest(p)
	f.Add(b)
	var changes int
	change := func(c Change) {
		changes++
		if c.RateLimit == nil && c.SessionTimeout == nil {
			panic("an empty change")
		}
		if l := c.RateLimit; l != nil {
			if back, err := ratelimit.Parse(l.String()); err != nil || back.String() != l.String() {
				panic(fmt.Sprintf("rate limit %+v does not round-trip: %v", l, err))
			}
		}
	}
	d := c.NewDAE(DAEConfig{
		Clients:    map[netip.Addr][]byte{daeSrc: secret},
		HangupCall: func(uint16) bool { return true },
		HangupUser: func(string) int { return 1 },
		ChangeCall: func(_ uint16, c Change) bool { change(c); return true },
		ChangeUser: func(_ string, c Change) int { change(c); return 1 },
		Now:        func() time.Time { return clockNow },
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		before := changes
		out := d.Handle(b, daeSrc)
		if out == nil {
			if changes != before {
				t.Fatal("a dropped request changed a session")
			}
			return
		}
		if resp, err := radius.Parse(out, secret); err == nil && resp.Code == radius.CodeCoANAK && changes != before {
			t.Fatal("a NAKed CoA changed a session")
		}
		if checkRequestAuth(b[:int(b[2])<<8|int(b[3])], secret) != nil {
			t.Fatal("answered a request that fails its checks")
		}
		req, _ := radius.Parse(b, secret)
		if _, present := req.Lookup(rfc2869.EventTimestamp_Type); present {
			at, err := rfc2869.EventTimestamp_Lookup(req)
			if err != nil || at.Sub(clockNow).Abs() > DefaultEventWindow {
				t.Fatalf("answered a request with Event-Timestamp %v (%v)", at, err)
			}
		}
		if _, err := checkReplyDAE(out, b, secret); err != nil {
			t.Fatalf("our response fails its checks: %v", err)
		}
	})
}
