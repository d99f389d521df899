package radius

import (
	"context"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// TestAcceptAttributes: an Access-Accept's attributes reach the result,
// printed by type, with the MPPE keys and the Message-Authenticator masked.
func TestAcceptAttributes(t *testing.T) {
	srv := newFakeServer(t, "sekrit", mschapv2Server(func(resp *radius.Packet) {
		rfc2865.FramedIPAddress_Set(resp, net.IPv4(10, 79, 97, 50))
		rfc2865.SessionTimeout_Set(resp, 3600)
		rfc2865.ReplyMessage_SetString(resp, "hi\x1b[2J")
		rfc2869.AcctInterimInterval_Set(resp, 300)
	}))
	c := newTestClient(t, nil, Server{Auth: srv.addr(), Secret: []byte("sekrit")})
	res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw"))
	if err != nil || !res.OK {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	if res.Source != "radius" {
		t.Errorf("Source = %q", res.Source)
	}
	got := map[string]string{}
	for _, a := range res.Attributes {
		got[a.Name] = a.Value
	}
	want := map[string]string{
		"Framed-IP-Address":         "10.79.97.50",
		"Session-Timeout":           "3600",
		"Acct-Interim-Interval":     "300",
		"Reply-Message":             `"hi\x1b[2J"`, // escaped: no control character reaches a terminal
		"MS-MPPE-Send-Key":          "<hidden 34 bytes>",
		"MS-MPPE-Recv-Key":          "<hidden 34 bytes>",
		"Message-Authenticator":     "<hidden 16 bytes>",
		"MS-MPPE-Encryption-Policy": "Encryption-Required",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, res.Attributes)
		}
	}
	// S= is derived from the password: masked like the keys.
	if s := got["MS-CHAP2-Success"]; s != "<hidden 43 bytes>" {
		t.Errorf("MS-CHAP2-Success = %q", s)
	}
	for _, a := range res.Attributes {
		for _, k := range [][]byte{res.MPPESendKey, res.MPPERecvKey} {
			if len(k) > 0 && strings.Contains(a.Value, hex.EncodeToString(k)) {
				t.Errorf("%s shows a key: %q", a.Name, a.Value)
			}
		}
	}
}

// TestServers: per address, the requests and timeouts, up after an
// answer, down after a request no send of which was answered, the RTTs and
// the last answer's time; a server's auth and acct addresses apart.
func TestServers(t *testing.T) {
	good := newFakeServer(t, "sekrit", mschapv2Server(nil))
	silent := newFakeServer(t, "sekrit", func(*radius.Packet) *radius.Packet { return nil })
	c := newTestClient(t, short,
		Server{Auth: silent.addr(), Acct: "127.0.0.1:9", Secret: []byte("sekrit")},
		Server{Auth: good.addr(), Secret: []byte("sekrit")})
	before := c.Servers()
	if len(before) != 3 || before[0].Address != silent.addr() || !before[0].Auth || before[0].Acct ||
		before[1].Address != "127.0.0.1:9" || !before[1].Acct || before[1].Auth || before[0].Requests != 0 || before[0].Up {
		t.Fatalf("Servers before any request = %+v", before)
	}
	start := time.Now()
	if res, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil || !res.OK {
		t.Fatalf("Authenticate = %+v, %v", res, err)
	}
	st := c.Servers()
	s, g := st[0], st[2]
	if s.Up || s.Requests != 2 || s.Timeouts != 2 || !s.LastSeen.IsZero() {
		t.Errorf("silent server %+v, want down, 2 requests, 2 timeouts", s)
	}
	if !g.Up || g.Requests != 1 || g.Timeouts != 0 || g.LastRTT <= 0 || g.AvgRTT != g.LastRTT || g.LastSeen.Before(start) {
		t.Errorf("answering server %+v", g)
	}
	// The silent server is now skipped first (dead time): a second login
	// goes to the good one; the smoothed RTT moves by an eighth.
	if _, err := c.Authenticate(context.Background(), mschapv2Request("alice", "alice-pw")); err != nil {
		t.Fatal(err)
	}
	g2 := c.Servers()[2]
	if g2.Requests != 2 || g2.AvgRTT != g.AvgRTT+(g2.LastRTT-g.AvgRTT)/8 {
		t.Errorf("after a second answer %+v (first %+v)", g2, g)
	}
}

func TestServersSameAddress(t *testing.T) {
	c := newTestClient(t, nil, Server{Auth: "127.0.0.1:1812", Acct: "127.0.0.1:1812", Secret: []byte("x")})
	if st := c.Servers(); len(st) != 1 || !st[0].Auth || !st[0].Acct {
		t.Errorf("Servers = %+v, want one auth+acct entry", st)
	}
}
