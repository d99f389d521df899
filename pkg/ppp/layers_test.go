package ppp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// optionCase is one peer Configure-Request and the expected verdict,
// written as option lists in wire form (nil: nothing of that kind).
type optionCase struct {
	name          string
	req           []Option
	wantNak       []Option
	wantRej       []Option
	nakValueIsAny bool // Nak value is random (magic number)
}

func runOptionCases(t *testing.T, ly layer, cases []optionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nak, rej := ly.check(tc.req)
			if !bytes.Equal(AppendOptions(nil, rej), AppendOptions(nil, tc.wantRej)) {
				t.Errorf("rej = %v, want %v", rej, tc.wantRej)
			}
			if tc.nakValueIsAny {
				if len(nak) != len(tc.wantNak) || (len(nak) > 0 && nak[0].Type != tc.wantNak[0].Type) {
					t.Errorf("nak = %v, want type of %v", nak, tc.wantNak)
				}
				return
			}
			if !bytes.Equal(AppendOptions(nil, nak), AppendOptions(nil, tc.wantNak)) {
				t.Errorf("nak = %v, want %v", nak, tc.wantNak)
			}
		})
	}
}

func TestLCPCheck(t *testing.T) {
	srv := New(Config{Role: Server, Rand: seeded(9)})
	srv.lcpL.magic = 0x11223344
	runOptionCases(t, srv.lcpL, []optionCase{
		{name: "windows", req: []Option{optU16(lcpMRU, 1400), optU32(lcpMagic, 0x1234abcd), optFlag(lcpPFC), optFlag(lcpACFC)}},
		{name: "pppd asyncmap", req: []Option{optU32(lcpACCM, 0), optU32(lcpMagic, 7)}},
		{name: "tiny mru", req: []Option{optU16(lcpMRU, 64)}, wantNak: []Option{optU16(lcpMRU, minMRU)}},
		{name: "bad mru length", req: []Option{{lcpMRU, []byte{1}}}, wantRej: []Option{{lcpMRU, []byte{1}}}},
		{name: "peer wants us to authenticate", req: []Option{authOption(AuthPAP)}, wantRej: []Option{authOption(AuthPAP)}},
		{name: "zero magic", req: []Option{optU32(lcpMagic, 0)}, wantNak: []Option{optU32(lcpMagic, 1)}, nakValueIsAny: true},
		{name: "our own magic", req: []Option{optU32(lcpMagic, 0x11223344)}, wantNak: []Option{optU32(lcpMagic, 1)}, nakValueIsAny: true},
		{name: "callback and quality", req: []Option{{13, []byte{6}}, {lcpQuality, []byte{0xc0, 0x25, 0, 0, 0, 10}}},
			wantRej: []Option{{13, []byte{6}}, {lcpQuality, []byte{0xc0, 0x25, 0, 0, 0, 10}}}},
		{name: "pfc with a value", req: []Option{{lcpPFC, []byte{1}}}, wantRej: []Option{{lcpPFC, []byte{1}}}},
	})
	if srv.lcpL.peer.hasMagic && srv.lcpL.peer.magic == 0x11223344 {
		t.Error("our own magic recorded as the peer's")
	}

	cli := New(Config{Role: Client, Auth: []AuthProto{AuthMSCHAPv2}, Rand: seeded(9)})
	runOptionCases(t, cli.lcpL, []optionCase{
		{name: "mschapv2 accepted", req: []Option{authOption(AuthMSCHAPv2)}},
		{name: "pap refused", req: []Option{authOption(AuthPAP)}, wantNak: []Option{authOption(AuthMSCHAPv2)}},
		{name: "eap refused", req: []Option{optU16(lcpAuth, 0xc227)}, wantNak: []Option{authOption(AuthMSCHAPv2)}},
	})
}

// TestLCPAuthNak: the server walks its allowed list as the peer Naks, and
// never takes a protocol the config does not allow.
func TestLCPAuthNak(t *testing.T) {
	tests := []struct {
		name    string
		allowed []AuthProto
		nak     AuthProto
		want    AuthProto // AuthNone: the link closes
	}{
		{"suggestion allowed", []AuthProto{AuthMSCHAPv2, AuthMSCHAPv1, AuthPAP}, AuthPAP, AuthPAP},
		{"suggestion not allowed, next", []AuthProto{AuthMSCHAPv2, AuthMSCHAPv1}, AuthPAP, AuthMSCHAPv1},
		{"nothing left", []AuthProto{AuthMSCHAPv2}, AuthCHAPMD5, AuthNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New(Config{Role: Server, Auth: tc.allowed, RestartTimeout: time.Hour})
			l.Start()
			l.lock()
			l.lcpL.gotNak([]Option{authOption(tc.nak)})
			got := l.lcpL.negotiatedAuth()
			dead := l.phase == PhaseTerminate || l.dead
			l.unlock()
			if tc.want == AuthNone {
				if !dead {
					t.Errorf("link not closing; asks for %v", got)
				}
				return
			}
			if got != tc.want || dead {
				t.Errorf("asks for %v (closing %v), want %v", got, dead, tc.want)
			}
		})
	}
}

func TestLCPAuthRejected(t *testing.T) {
	var reason string
	l := New(Config{Role: Server, RestartTimeout: time.Hour, OnDown: func(r string) { reason = r }})
	l.Start()
	l.lock()
	l.lcpL.gotRej([]Option{authOption(AuthMSCHAPv2)})
	l.unlock()
	l.Input(AppendFrame(nil, ProtoLCP, Packet{Code: CodeTermAck, ID: 2}.Append(nil), false, false))
	if want := "peer refused to authenticate (rejected MS-CHAPv2)"; reason != want {
		t.Errorf("reason %q, want %q", reason, want)
	}
}

func TestIPCPCheckServer(t *testing.T) {
	l := New(Config{Role: Server})
	l.ipcpL.setParams(NetworkParams{LocalIP: testLocal, PeerIP: testPeer, DNS: [2]netip.Addr{testDNS[0]}})
	z := netip.IPv4Unspecified()
	zero := addrOption(ipcpAddress, z)
	runOptionCases(t, l.ipcpL, []optionCase{
		{name: "windows", req: []Option{zero, addrOption(ipcpDNS1, z), addrOption(ipcpNBNS1, z), addrOption(ipcpDNS2, z)},
			wantNak: []Option{addrOption(ipcpAddress, testPeer), addrOption(ipcpDNS1, testDNS[0])},
			wantRej: []Option{addrOption(ipcpNBNS1, z), addrOption(ipcpDNS2, z)}},
		{name: "assigned", req: []Option{addrOption(ipcpAddress, testPeer), addrOption(ipcpDNS1, testDNS[0])}},
		{name: "wants another address", req: []Option{addrOption(ipcpAddress, testLocal)}, wantNak: []Option{addrOption(ipcpAddress, testPeer)}},
		{name: "no address asked", req: nil, wantNak: []Option{addrOption(ipcpAddress, testPeer)}},
		{name: "vj and old addresses", req: []Option{{ipcpCompression, []byte{0, 0x2d, 15, 1}}, {ipcpAddresses, make([]byte, 8)}, addrOption(ipcpAddress, testPeer)},
			wantRej: []Option{{ipcpCompression, []byte{0, 0x2d, 15, 1}}, {ipcpAddresses, make([]byte, 8)}}},
	})
}

func TestCCPCheck(t *testing.T) {
	H, S, M, L, C := mppe.BitH, mppe.BitS, mppe.BitM, mppe.BitL, mppe.BitC
	tests := []struct {
		name    string
		policy  MPPEPolicy
		req     []Option
		wantNak []Option
		wantRej []Option
	}{
		{"128 stateless", MPPEPolicy{Required: true, Bits128: true}, []Option{mppeOption(H | S)}, nil, nil},
		{"offers all", MPPEPolicy{Required: true, Bits128: true, Bits40: true}, []Option{mppeOption(H | S | M | L)}, []Option{mppeOption(H | S)}, nil},
		{"stateful not allowed", MPPEPolicy{Required: true, Bits128: true}, []Option{mppeOption(S)}, []Option{mppeOption(H | S)}, nil},
		{"stateful allowed", MPPEPolicy{Required: true, Bits128: true, AllowStateful: true}, []Option{mppeOption(S)}, nil, nil},
		{"mppc bit", MPPEPolicy{Required: true, Bits128: true}, []Option{mppeOption(H | S | C)}, []Option{mppeOption(H | S)}, nil},
		{"40 only offered", MPPEPolicy{Required: true, Bits128: true}, []Option{mppeOption(H | L)}, []Option{mppeOption(H | S)}, nil},
		{"deflate and bsd", MPPEPolicy{Required: true, Bits128: true}, []Option{{26, []byte{0x78, 0}}, {21, []byte{0x2f}}, mppeOption(H | S)},
			nil, []Option{{26, []byte{0x78, 0}}, {21, []byte{0x2f}}}},
		{"no mppe asked", MPPEPolicy{Required: true, Bits128: true}, nil, []Option{mppeOption(H | S)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New(Config{Role: Server, MPPE: tc.policy})
			l.ccpL.reset()
			runOptionCases(t, l.ccpL, []optionCase{{name: "check", req: tc.req, wantNak: tc.wantNak, wantRej: tc.wantRej}})
		})
	}
}
