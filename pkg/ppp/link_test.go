package ppp

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLinkMSCHAPv2MPPE(t *testing.T) {
	tests := []struct {
		name      string
		stateful  bool
		wantMPPE  string
		nPackets  int
		bits40    bool
		clientAll bool // client offers all key lengths
	}{
		{name: "stateless-128", wantMPPE: "MPPE 128-bit stateless", nPackets: 20},
		// 300 packets cross the stateful rekey at each 256 (RFC 3078 §7.2).
		{name: "stateful-128", stateful: true, wantMPPE: "MPPE 128-bit stateful", nPackets: 300},
		{name: "client-offers-all", clientAll: true, wantMPPE: "MPPE 128-bit stateless", nPackets: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scfg, ccfg := serverConfig(), clientConfig()
			if tc.stateful {
				scfg.MPPE.AllowStateful, scfg.MPPE.PreferStateful = true, true
				ccfg.MPPE.AllowStateful, ccfg.MPPE.PreferStateful = true, true
			}
			if tc.clientAll {
				ccfg.MPPE = MPPEPolicy{Required: true, Bits40: true, Bits56: true, Bits128: true}
			}
			srv, cli := pair(t, scfg, ccfg)
			su := waitUp(t, srv, "server")
			cu := waitUp(t, cli, "client")

			if su.User != testUser || su.Auth != AuthMSCHAPv2 || su.Local != testLocal || su.Peer != testPeer || su.DNS != testDNS {
				t.Errorf("server UpInfo = %+v", su)
			}
			if su.Result == nil || !su.Result.OK {
				t.Errorf("server UpInfo.Result = %+v", su.Result)
			}
			if cu.Local != testPeer || cu.Peer != testLocal || cu.DNS != testDNS {
				t.Errorf("client UpInfo = %+v", cu)
			}
			if su.MPPE != tc.wantMPPE || cu.MPPE != tc.wantMPPE {
				t.Errorf("MPPE server %q client %q, want %q", su.MPPE, cu.MPPE, tc.wantMPPE)
			}
			for i := 0; i < tc.nPackets; i++ {
				p := ipPacket(40+i%1300, byte(i))
				if err := cli.link.WriteIP(p); err != nil {
					t.Fatalf("client WriteIP: %v", err)
				}
				waitIP(t, srv, p)
				q := ipPacket(60+i%1000, byte(i+1))
				if err := srv.link.WriteIP(q); err != nil {
					t.Fatalf("server WriteIP: %v", err)
				}
				waitIP(t, cli, q)
			}
			// Nothing may cross the wire as plaintext IP.
			for _, e := range []*end{srv, cli} {
				if n := frameProtos(e.frames())[ProtoIPv4]; n != 0 {
					t.Errorf("%v sent %d plaintext IP frames", e, n)
				}
			}
			st := srv.link.Stats()
			if st.PacketsIn != uint64(tc.nPackets) || st.PacketsOut != uint64(tc.nPackets) {
				t.Errorf("server stats %+v", st)
			}
			if !srv.logs.has(tc.wantMPPE+" compression enabled") || !srv.logs.has("local  IP address 10.79.97.1") || !srv.logs.has("remote IP address 10.79.97.10") {
				t.Errorf("server log lacks pppd-style lines:\n%s", srv.logs)
			}
			if !srv.logs.has("rcvd [LCP ConfReq id=0x1 <mru 1400>") || !srv.logs.has("<auth chap MS-v2>") {
				t.Errorf("server log lacks LCP lines:\n%s", srv.logs)
			}
		})
	}
}

func TestLinkWrongPassword(t *testing.T) {
	ccfg := clientConfig()
	ccfg.Password = "wrong"
	srv, cli := pair(t, serverConfig(), ccfg)
	sr := waitDown(t, srv, "server")
	cr := waitDown(t, cli, "client")
	if !strings.Contains(sr, `MS-CHAPv2 peer authentication failed for "test"`) {
		t.Errorf("server reason %q", sr)
	}
	if !strings.Contains(cr, "E=691 R=0 C=") || !strings.Contains(cr, "V=3 M=Authentication failed") {
		t.Errorf("client reason %q", cr)
	}
}

func TestLinkAuthRetry(t *testing.T) {
	scfg, ccfg := serverConfig(), clientConfig()
	scfg.AuthRetries, ccfg.AuthRetries = 1, 1
	ccfg.Password = "wrong"
	auth := scfg.Authenticator.(*fakeAuth)
	srv, cli := pair(t, scfg, ccfg)
	waitDown(t, srv, "server")
	waitDown(t, cli, "client")
	auth.mu.Lock()
	n := len(auth.reqs)
	var challenges [][]byte
	for _, r := range auth.reqs {
		challenges = append(challenges, r.Challenge)
	}
	auth.mu.Unlock()
	if n != 2 {
		t.Fatalf("authenticator asked %d times, want 2 (one retry)", n)
	}
	if string(challenges[0]) == string(challenges[1]) {
		t.Errorf("retry reused the challenge")
	}
	if !cli.logs.has(`E=691 R=1 C=`) || !cli.logs.has("retrying") {
		t.Errorf("client log lacks the retry:\n%s", cli.logs)
	}
}

// TestLinkFailureCode: the authenticator's MS-CHAP error code reaches the
// peer's Failure, and a code other than 691 (here 648, password expired)
// ends the link without the retry another password could use.
func TestLinkFailureCode(t *testing.T) {
	scfg, ccfg := serverConfig(), clientConfig()
	scfg.AuthRetries, ccfg.AuthRetries = 1, 1
	ccfg.Password = "wrong"
	auth := scfg.Authenticator.(*fakeAuth)
	auth.failCode = 648
	srv, cli := pair(t, scfg, ccfg)
	waitDown(t, srv, "server")
	cr := waitDown(t, cli, "client")
	if !strings.Contains(cr, "E=648 R=0 C=") {
		t.Errorf("client reason %q, want E=648 R=0", cr)
	}
	auth.mu.Lock()
	n := len(auth.reqs)
	auth.mu.Unlock()
	if n != 1 {
		t.Errorf("authenticator asked %d times, want 1 (no retry after 648)", n)
	}
}

func TestLinkMPPERefused(t *testing.T) {
	tests := []struct {
		name   string
		client MPPEPolicy
	}{
		// The client does not run CCP at all: it Protocol-Rejects it.
		{name: "ccp-protocol-rejected", client: MPPEPolicy{}},
		// The client only does 40-bit; the server requires 128.
		{name: "no-common-key-length", client: MPPEPolicy{Required: true, Bits40: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := clientConfig()
			ccfg.MPPE = tc.client
			srv, cli := pair(t, serverConfig(), ccfg)
			sr := waitDown(t, srv, "server")
			waitDown(t, cli, "client")
			if sr != "MPPE required but peer refused" {
				t.Errorf("server reason %q", sr)
			}
			if !srv.logs.has("MPPE required but peer refused") {
				t.Errorf("server log lacks the refusal:\n%s", srv.logs)
			}
			if n := frameProtos(cli.frames())[ProtoIPv4] + frameProtos(srv.frames())[ProtoIPv4]; n != 0 {
				t.Errorf("%d IP frames crossed", n)
			}
		})
	}
}

func TestLinkAuthProtocolNegotiation(t *testing.T) {
	tests := []struct {
		name       string
		serverAuth []AuthProto
		clientAuth []AuthProto
		mppe       bool
		wantUp     AuthProto
		wantReason string
	}{
		{name: "mschapv2-refused", serverAuth: []AuthProto{AuthMSCHAPv2}, clientAuth: []AuthProto{AuthPAP},
			wantReason: "peer refused MS-CHAPv2, no other allowed protocol (peer wants PAP)"},
		{name: "pap-not-allowed", serverAuth: []AuthProto{AuthMSCHAPv2, AuthMSCHAPv1}, clientAuth: []AuthProto{AuthPAP},
			wantReason: "peer refused MS-CHAP, no other allowed protocol (peer wants PAP)"},
		{name: "pap-allowed", serverAuth: []AuthProto{AuthMSCHAPv2, AuthPAP}, clientAuth: []AuthProto{AuthPAP}, wantUp: AuthPAP},
		{name: "chap-md5", serverAuth: []AuthProto{AuthMSCHAPv2, AuthCHAPMD5}, clientAuth: []AuthProto{AuthCHAPMD5}, wantUp: AuthCHAPMD5},
		{name: "mschapv1-mppe", serverAuth: []AuthProto{AuthMSCHAPv2, AuthMSCHAPv1}, clientAuth: []AuthProto{AuthMSCHAPv1}, mppe: true, wantUp: AuthMSCHAPv1},
		{name: "pap-with-mppe-required", serverAuth: []AuthProto{AuthPAP}, clientAuth: []AuthProto{AuthPAP}, mppe: true,
			wantReason: "MPPE required, but MS-CHAP[v2] auth not performed (PAP)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scfg, ccfg := serverConfig(), clientConfig()
			scfg.Auth, ccfg.Auth = tc.serverAuth, tc.clientAuth
			if !tc.mppe {
				scfg.MPPE, ccfg.MPPE = MPPEPolicy{}, MPPEPolicy{}
			}
			srv, cli := pair(t, scfg, ccfg)
			if tc.wantReason != "" {
				if r := waitDown(t, srv, "server"); r != tc.wantReason {
					t.Errorf("server reason %q, want %q", r, tc.wantReason)
				}
				if !srv.logs.has(tc.wantReason) {
					t.Errorf("server log lacks %q:\n%s", tc.wantReason, srv.logs)
				}
				waitDown(t, cli, "client")
				return
			}
			su := waitUp(t, srv, "server")
			waitUp(t, cli, "client")
			if su.Auth != tc.wantUp {
				t.Errorf("authenticated with %v, want %v", su.Auth, tc.wantUp)
			}
			if tc.mppe != (su.MPPE != "") {
				t.Errorf("MPPE %q", su.MPPE)
			}
			p := ipPacket(100, 7)
			if err := cli.link.WriteIP(p); err != nil {
				t.Fatal(err)
			}
			waitIP(t, srv, p)
		})
	}
}

func TestLinkEchoFailure(t *testing.T) {
	scfg := serverConfig()
	// Five missed echoes at 30ms tolerate a busy test machine.
	scfg.EchoInterval = 30 * time.Millisecond
	scfg.EchoFailure = 5
	srv, cli := pair(t, scfg, clientConfig())
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	// Echoes are answered while the wire works.
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-srv.down:
		t.Fatalf("server down with a working peer: %s", r)
	default:
	}
	cli.setDrop(func([]byte) bool { return true }) // the client goes silent
	if r := waitDown(t, srv, "server"); r != "peer not responding" {
		t.Errorf("reason %q", r)
	}
	if !srv.logs.has("No response to 5 echo-requests") {
		t.Errorf("log:\n%s", srv.logs)
	}
}

func TestLinkTerminate(t *testing.T) {
	for _, closer := range []string{"server", "client"} {
		t.Run(closer, func(t *testing.T) {
			srv, cli := pair(t, serverConfig(), clientConfig())
			waitUp(t, srv, "server")
			waitUp(t, cli, "client")
			a, b := srv, cli
			if closer == "client" {
				a, b = cli, srv
			}
			a.link.Close("User request")
			if r := waitDown(t, a, closer); r != "User request" {
				t.Errorf("closer reason %q", r)
			}
			if r := waitDown(t, b, "peer"); r != "LCP terminated by peer (User request)" {
				t.Errorf("peer reason %q", r)
			}
			if err := a.link.WriteIP(ipPacket(50, 1)); err != ErrLinkDown {
				t.Errorf("WriteIP after close: %v", err)
			}
		})
	}
}

func TestLinkIPCPNak(t *testing.T) {
	srv, cli := pair(t, serverConfig(), clientConfig())
	waitUp(t, srv, "server")
	cu := waitUp(t, cli, "client")
	if cu.Local != testPeer {
		t.Errorf("client address %v", cu.Local)
	}
	for _, want := range []string{
		"rcvd [IPCP ConfReq id=0x1 <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>]",
		"sent [IPCP ConfNak id=0x1 <addr 10.79.97.10> <ms-dns1 192.0.2.53> <ms-dns2 192.0.2.54>]",
		"rcvd [IPCP ConfReq id=0x2 <addr 10.79.97.10> <ms-dns1 192.0.2.53> <ms-dns2 192.0.2.54>]",
		"sent [IPCP ConfAck id=0x2",
	} {
		if !srv.logs.has(want) {
			t.Errorf("server log lacks %q:\n%s", want, srv.logs)
		}
	}
}

func TestLinkNoDNSRejected(t *testing.T) {
	scfg := serverConfig()
	scfg.Network = func(ctx context.Context, user string, res *AuthResult) (NetworkParams, error) {
		return NetworkParams{LocalIP: testLocal, PeerIP: testPeer}, nil
	}
	srv, cli := pair(t, scfg, clientConfig())
	waitUp(t, srv, "server")
	cu := waitUp(t, cli, "client")
	if cu.DNS[0].IsValid() && !cu.DNS[0].IsUnspecified() {
		t.Errorf("client got DNS %v", cu.DNS)
	}
	if !srv.logs.has("sent [IPCP ConfRej id=0x1 <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>]") {
		t.Errorf("server log:\n%s", srv.logs)
	}
}
