package ppp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		proto   Proto
		info    []byte
		wantErr error
	}{
		{"lcp full", []byte{0xff, 0x03, 0xc0, 0x21, 1, 2}, ProtoLCP, []byte{1, 2}, nil},
		{"lcp no address/control", []byte{0xc0, 0x21, 1}, ProtoLCP, []byte{1}, nil},
		{"ip pfc", []byte{0x21, 0x45, 0}, ProtoIPv4, []byte{0x45, 0}, nil},
		{"ip pfc acfc off", []byte{0xff, 0x03, 0x21, 0x45}, ProtoIPv4, []byte{0x45}, nil},
		{"mppe uncompressed", []byte{0x00, 0xfd, 0x90, 0x00}, ProtoCompDG, []byte{0x90, 0x00}, nil},
		{"empty info", []byte{0x80, 0x21}, ProtoIPCP, []byte{}, nil},
		{"empty", nil, 0, nil, ErrShortFrame},
		{"only address/control", []byte{0xff, 0x03}, 0, nil, ErrShortFrame},
		{"truncated protocol", []byte{0xc0}, 0, nil, ErrShortFrame},
		{"even second octet", []byte{0x80, 0x20, 1}, 0, nil, ErrBadProto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proto, info, err := DecodeFrame(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || proto != tc.proto || !bytes.Equal(info, tc.info) {
				t.Fatalf("got %v %x %v, want %v %x", proto, info, err, tc.proto, tc.info)
			}
		})
	}
}

func TestAppendFrame(t *testing.T) {
	tests := []struct {
		proto     Proto
		acfc, pfc bool
		want      []byte
	}{
		{ProtoIPv4, false, false, []byte{0xff, 0x03, 0x00, 0x21, 9}},
		{ProtoIPv4, true, false, []byte{0x00, 0x21, 9}},
		{ProtoIPv4, true, true, []byte{0x21, 9}},
		{ProtoCompDG, false, true, []byte{0xff, 0x03, 0xfd, 9}},
		{ProtoIPCP, true, true, []byte{0x80, 0x21, 9}}, // >= 0x100: never one octet
		// RFC 1661 §6.5, §6.6: LCP always goes out uncompressed.
		{ProtoLCP, true, true, []byte{0xff, 0x03, 0xc0, 0x21, 9}},
	}
	for _, tc := range tests {
		got := AppendFrame(nil, tc.proto, []byte{9}, tc.acfc, tc.pfc)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("AppendFrame(%v, acfc=%v, pfc=%v) = % x, want % x", tc.proto, tc.acfc, tc.pfc, got, tc.want)
		}
	}
}

func TestParsePacket(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Packet
		ok   bool
	}{
		{"confreq", []byte{1, 7, 0, 8, 1, 4, 5, 0x78}, Packet{CodeConfReq, 7, []byte{1, 4, 5, 0x78}}, true},
		{"padding ignored", []byte{5, 1, 0, 4, 0xee, 0xee}, Packet{CodeTermReq, 1, []byte{}}, true},
		{"short header", []byte{1, 1, 0}, Packet{}, false},
		{"length beyond buffer", []byte{1, 1, 0, 9, 0}, Packet{}, false},
		{"length below header", []byte{1, 1, 0, 3}, Packet{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok && !reflect.DeepEqual(p, tc.want) {
				t.Fatalf("got %+v, want %+v", p, tc.want)
			}
			if !tc.ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []Option
		ok   bool
	}{
		{"lcp", []byte{1, 4, 0x05, 0x78, 7, 2, 8, 2}, []Option{{1, []byte{0x05, 0x78}}, {7, []byte{}}, {8, []byte{}}}, true},
		{"empty", nil, nil, true},
		{"length one", []byte{1, 1}, nil, false},
		{"truncated", []byte{3, 6, 10, 0}, nil, false},
		{"trailing octet", []byte{7, 2, 8}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := ParseOptions(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok && !reflect.DeepEqual(opts, tc.want) {
				t.Fatalf("got %+v, want %+v", opts, tc.want)
			}
			if tc.ok && !bytes.Equal(AppendOptions(nil, opts), tc.in) {
				t.Fatalf("re-encoding differs")
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		proto Proto
		p     Packet
		want  string
	}{
		{ProtoLCP, Packet{CodeConfReq, 1, AppendOptions(nil, []Option{optU16(lcpMRU, 1400), optU32(lcpMagic, 0x1234abcd), authOption(AuthMSCHAPv2)})},
			"[LCP ConfReq id=0x1 <mru 1400> <magic 0x1234abcd> <auth chap MS-v2>]"},
		{ProtoLCP, Packet{CodeTermReq, 2, []byte("User request")}, `[LCP TermReq id=0x2 "User request"]`},
		{ProtoLCP, Packet{CodeEchoReq, 3, []byte{0, 0, 0, 1}}, "[LCP EchoReq id=0x3 magic=0x1]"},
		{ProtoLCP, Packet{CodeIdent, 4, []byte("\x00\x00\x00\x02MSRASV5.20")}, `[LCP Ident id=0x4 magic=0x2 "MSRASV5.20"]`},
		{ProtoCCP, Packet{CodeConfNak, 4, []byte{18, 6, 1, 0, 0, 0x40}}, "[CCP ConfNak id=0x4 <mppe +H -M +S -L -D -C>]"},
		{ProtoCCP, Packet{CodeResetReq, 5, nil}, "[CCP ResetReq id=0x5]"},
		{ProtoIPCP, Packet{CodeConfRej, 6, []byte{2, 6, 0, 0x2d, 0x0f, 0x01, 130, 6, 0, 0, 0, 0}}, "[IPCP ConfRej id=0x6 <compress 0x2d> <ms-wins 0.0.0.0>]"},
		{ProtoPAP, Packet{papAuthReq, 7, appendPAPRequest(nil, "bob", "secret")}, `[PAP AuthReq id=0x7 user="bob" password=<hidden>]`},
		{ProtoCHAP, Packet{chapChallenge, 8, appendCHAPValue(nil, []byte{1, 2}, "pptpbox")}, `[CHAP Challenge id=0x8 <0102>, name = "pptpbox"]`},
		{ProtoCHAP, Packet{chapFailure, 9, []byte("E=691 R=0\x01")}, `[CHAP Failure id=0x9 "E=691 R=0."]`},
	}
	for _, tc := range tests {
		if got := describe(tc.proto, tc.p); got != tc.want {
			t.Errorf("describe = %s\n            want %s", got, tc.want)
		}
	}
}

func TestAuthOptionRoundTrip(t *testing.T) {
	for _, p := range []AuthProto{AuthPAP, AuthCHAPMD5, AuthMSCHAPv1, AuthMSCHAPv2} {
		got, ok := parseAuthOption(authOption(p).Value)
		if !ok || got != p {
			t.Errorf("%v: round trip gave %v %v", p, got, ok)
		}
	}
	if _, ok := parseAuthOption([]byte{0xc2, 0x23, 0x06}); ok {
		t.Error("unknown CHAP algorithm accepted")
	}
}

func TestPAPRequest(t *testing.T) {
	r, err := parsePAPRequest(appendPAPRequest(nil, "alice", "pw"))
	if err != nil || r.user != "alice" || string(r.password) != "pw" {
		t.Fatalf("got %+v %v", r, err)
	}
	for _, bad := range [][]byte{nil, {5, 'a'}, {1, 'a', 3, 'p'}, {0}} {
		if _, err := parsePAPRequest(bad); err == nil {
			t.Errorf("parsePAPRequest(% x) accepted", bad)
		}
	}
}
