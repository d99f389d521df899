package ppp

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// upPair brings a default server/client pair up.
func upPair(t *testing.T, scfg, ccfg Config) (srv, cli *end) {
	t.Helper()
	srv, cli = pair(t, scfg, ccfg)
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	return srv, cli
}

// TestStatefulResetRequest: a lost stateful MPPE packet makes the receiver
// send CCP Reset-Request; the sender flushes, acks, and traffic resumes
// (RFC 1962 §2.2, RFC 3078 §8.2).
func TestStatefulResetRequest(t *testing.T) {
	scfg, ccfg := serverConfig(), clientConfig()
	scfg.MPPE.AllowStateful, scfg.MPPE.PreferStateful = true, true
	ccfg.MPPE.AllowStateful, ccfg.MPPE.PreferStateful = true, true
	srv, cli := upPair(t, scfg, ccfg)

	var dropped atomic.Bool
	cli.setDrop(func(f []byte) bool {
		p, _, _ := DecodeFrame(f)
		return p == ProtoCompDG && dropped.CompareAndSwap(false, true)
	})
	lost := ipPacket(80, 1)
	if err := cli.link.WriteIP(lost); err != nil {
		t.Fatal(err)
	}
	// The next packets are undecryptable until the flushed one arrives.
	deadline := time.Now().Add(waitFor)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("traffic did not resume\nserver:\n%s\nclient:\n%s", srv.logs, cli.logs)
		}
		p := ipPacket(90, byte(i))
		if err := cli.link.WriteIP(p); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-srv.ip:
			if string(got) == string(lost) {
				t.Fatal("the dropped packet arrived")
			}
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	if !srv.logs.has("sent [CCP ResetReq") || !cli.logs.has("sent [CCP ResetAck") {
		t.Errorf("no reset exchange\nserver:\n%s\nclient:\n%s", srv.logs, cli.logs)
	}
	if srv.link.Stats().Drops[DropDecrypt] == 0 {
		t.Error("no decrypt drops counted")
	}
}

// TestStatelessLoss: stateless MPPE survives a lost packet without resets.
func TestStatelessLoss(t *testing.T) {
	srv, cli := upPair(t, serverConfig(), clientConfig())
	var dropped atomic.Bool
	cli.setDrop(func(f []byte) bool {
		p, _, _ := DecodeFrame(f)
		return p == ProtoCompDG && dropped.CompareAndSwap(false, true)
	})
	if err := cli.link.WriteIP(ipPacket(80, 1)); err != nil {
		t.Fatal(err)
	}
	p := ipPacket(81, 2)
	if err := cli.link.WriteIP(p); err != nil {
		t.Fatal(err)
	}
	waitIP(t, srv, p)
	if srv.logs.has("ResetReq") {
		t.Error("stateless link sent a Reset-Request")
	}
}

// TestInjectedFrames: what a server does with frames a peer should not send.
func TestInjectedFrames(t *testing.T) {
	tests := []struct {
		name     string
		frame    []byte
		wantLog  string
		notLog   string
		wantDrop DropReason
	}{
		{name: "unknown protocol", frame: AppendFrame(nil, ProtoIPV6CP, Packet{Code: CodeConfReq, ID: 1}.Append(nil), false, false),
			wantLog: "sent [LCP ProtRej id=", wantDrop: DropProtocol},
		{name: "unknown LCP code", frame: AppendFrame(nil, ProtoLCP, Packet{Code: 0x33, ID: 9}.Append(nil), false, false),
			wantLog: "sent [LCP CodeRej id=", wantDrop: -1},
		{name: "windows identification", frame: AppendFrame(nil, ProtoLCP, Packet{Code: CodeIdent, ID: 3, Data: []byte("\x00\x00\x00\x00MSRASV5.20")}.Append(nil), false, false),
			wantLog: `rcvd [LCP Ident id=0x3 magic=0x0`, notLog: "sent [LCP CodeRej", wantDrop: -1},
		{name: "plaintext IP under MPPE", frame: AppendFrame(nil, ProtoIPv4, ipPacket(40, 0), false, false),
			wantDrop: DropUnencrypted},
		{name: "garbage MPPE", frame: AppendFrame(nil, ProtoCompDG, []byte{0x00, 0x01, 2, 3}, false, false),
			wantDrop: DropDecrypt},
		{name: "malformed frame", frame: []byte{0xff, 0x03, 0x80}, wantDrop: DropMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := upPair(t, serverConfig(), clientConfig())
			srv.link.Input(tc.frame)
			if tc.wantLog != "" && !srv.logs.has(tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, srv.logs)
			}
			if tc.notLog != "" && srv.logs.has(tc.notLog) {
				t.Errorf("log has %q:\n%s", tc.notLog, srv.logs)
			}
			if tc.wantDrop >= 0 && srv.link.Stats().Drops[tc.wantDrop] == 0 {
				t.Errorf("no %v drop counted: %+v", tc.wantDrop, srv.link.Stats())
			}
			select {
			case <-srv.ip:
				t.Error("injected frame delivered as IP")
			default:
			}
		})
	}
}

func TestWriteIPErrors(t *testing.T) {
	srv := newEnd(t, serverConfig(), 1)
	if err := srv.link.WriteIP(ipPacket(40, 0)); !errors.Is(err, ErrNotUp) {
		t.Errorf("before up: %v", err)
	}
	ccfg := clientConfig()
	ccfg.MRU = 600
	s, _ := upPair(t, serverConfig(), ccfg)
	if err := s.link.WriteIP(ipPacket(601, 0)); !errors.Is(err, ErrTooBig) {
		t.Errorf("over the peer's MRU: %v", err)
	}
	if err := s.link.WriteIP(ipPacket(600, 0)); err != nil {
		t.Errorf("at the peer's MRU: %v", err)
	}
}

// TestLoopback: a link that hears itself detects it by its magic number
// (RFC 1661 §6.4) and gives up.
func TestLoopback(t *testing.T) {
	e := newEnd(t, clientConfig(), 3)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case f := <-e.wire:
				e.link.Input(f)
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done) })
	e.link.Start()
	if r := waitDown(t, e, "looped link"); r != "serial line is looped back" {
		t.Errorf("reason %q", r)
	}
}

// TestDuplicateResponse: a retransmitted MS-CHAPv2 Response after Success
// gets the same Success again (RFC 1994 §4.2), not a second login.
func TestDuplicateResponse(t *testing.T) {
	scfg := serverConfig()
	auth := scfg.Authenticator.(*fakeAuth)
	srv, cli := upPair(t, scfg, clientConfig())
	var resp []byte
	for _, f := range cli.frames() {
		if p, info, _ := DecodeFrame(f); p == ProtoCHAP {
			resp = info
		}
	}
	before := len(srv.frames())
	srv.link.Input(AppendFrame(nil, ProtoCHAP, resp, false, false))
	time.Sleep(20 * time.Millisecond)
	after := srv.frames()[before:]
	if len(after) != 1 {
		t.Fatalf("sent %d frames for a duplicate response", len(after))
	}
	if _, info, _ := DecodeFrame(after[0]); len(info) == 0 || info[0] != chapSuccess {
		t.Errorf("answer % x, want a Success", after[0])
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if len(auth.reqs) != 1 {
		t.Errorf("authenticator asked %d times", len(auth.reqs))
	}
}

// TestCloseDuringAuth: closing while the authenticator works cancels its
// context, and OnDown runs once.
func TestCloseDuringAuth(t *testing.T) {
	scfg := serverConfig()
	auth := scfg.Authenticator.(*fakeAuth)
	auth.delay = time.Hour
	srv, cli := pair(t, scfg, clientConfig())
	deadline := time.Now().Add(waitFor)
	for srv.link.Phase() != PhaseAuthenticate || !srv.logs.has("rcvd [CHAP Response") {
		if time.Now().After(deadline) {
			t.Fatalf("never reached authentication:\n%s", srv.logs)
		}
		time.Sleep(time.Millisecond)
	}
	srv.link.Close("admin reset")
	if r := waitDown(t, srv, "server"); r != "admin reset" {
		t.Errorf("reason %q", r)
	}
	waitDown(t, cli, "client")
	for !auth.cancelled.Load() {
		if time.Now().After(deadline) {
			t.Fatal("authenticator context not cancelled")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLinkMPPEAllowed: with MPPE allowed but not required, the link
// encrypts when both sides agree and runs in plaintext when the peer does
// not do CCP; never half and half.
func TestLinkMPPEAllowed(t *testing.T) {
	tests := []struct {
		name     string
		client   MPPEPolicy
		wantMPPE string
	}{
		{"both-allow", MPPEPolicy{Allowed: true, Bits128: true}, "MPPE 128-bit stateless"},
		{"client-requires", MPPEPolicy{Required: true, Bits128: true}, "MPPE 128-bit stateless"},
		{"client-off", MPPEPolicy{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scfg, ccfg := serverConfig(), clientConfig()
			scfg.MPPE = MPPEPolicy{Allowed: true, Bits40: true, Bits128: true}
			ccfg.MPPE = tc.client
			srv, cli := upPair(t, scfg, ccfg)
			p := ipPacket(200, 3)
			if err := cli.link.WriteIP(p); err != nil {
				t.Fatal(err)
			}
			waitIP(t, srv, p)
			protos := frameProtos(cli.frames())
			if tc.wantMPPE == "" && (protos[ProtoIPv4] != 1 || protos[ProtoCompDG] != 0) {
				t.Errorf("plaintext link sent %v", protos)
			}
			if tc.wantMPPE != "" && (protos[ProtoIPv4] != 0 || protos[ProtoCompDG] != 1) {
				t.Errorf("encrypted link sent %v", protos)
			}
			if !srv.logs.has(`mppe="` + tc.wantMPPE + `"`) {
				t.Errorf("server log:\n%s", srv.logs)
			}
		})
	}
}

// TestSilentPeer: Max-Configure unanswered requests end the link with
// pppd's reason.
func TestSilentPeer(t *testing.T) {
	cfg := serverConfig()
	cfg.RestartTimeout = 2 * time.Millisecond
	e := newEnd(t, cfg, 1)
	e.link.Start()
	if r := waitDown(t, e, "server"); r != "LCP: timeout sending Config-Requests" {
		t.Errorf("reason %q", r)
	}
	if n := frameProtos(e.frames())[ProtoLCP]; n != maxConfigure {
		t.Errorf("sent %d LCP requests, want %d", n, maxConfigure)
	}
}
