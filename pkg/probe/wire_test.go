package probe

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
)

var (
	me     = netip.MustParseAddr("10.0.1.2")
	router = netip.MustParseAddr("10.0.1.1")
	target = netip.MustParseAddr("10.0.2.2")
)

func TestEchoRequest(t *testing.T) {
	b := EchoRequest(0x1234, 7, []byte("abc"))
	if ipv4frag.Checksum(b) != 0 {
		t.Errorf("checksum of %x does not verify", b)
	}
	m, err := icmp.ParseMessage(1, b)
	if err != nil || m.Type != ipv4.ICMPTypeEcho {
		t.Fatalf("%v %v", m, err)
	}
	if e := m.Body.(*icmp.Echo); e.ID != 0x1234 || e.Seq != 7 || string(e.Data) != "abc" {
		t.Errorf("echo %+v", e)
	}
}

func TestParseReply(t *testing.T) {
	req := EchoRequest(0x1234, 7, make([]byte, 56))
	for _, tc := range []struct {
		name string
		msg  []byte
		want Reply
		err  error
	}{
		{"echo reply", echoReply(req), Reply{Kind: EchoReply, ID: 0x1234, Seq: 7}, nil},
		{"time exceeded", icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, target, req),
			Reply{Kind: TimeExceeded, ID: 0x1234, Seq: 7, Dst: target}, nil},
		{"host unreachable", icmpError(ipv4.ICMPTypeDestinationUnreachable, 1, me, target, req),
			Reply{Kind: Unreachable, Code: 1, ID: 0x1234, Seq: 7, Dst: target}, nil},
		{"our own request (loopback)", req, Reply{}, ErrNotReply},
		{"reassembly time exceeded", icmpError(ipv4.ICMPTypeTimeExceeded, 1, me, target, req), Reply{}, ErrNotReply},
		{"error quoting a reply, not a request", icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, target, echoReply(req)), Reply{}, ErrNotReply},
	} {
		got, err := ParseReply(tc.msg)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	// Malformed: errors, no panic.
	te := icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, target, req)
	udp := append([]byte(nil), te...)
	udp[8+9] = 17 // the quoted datagram is UDP
	ihl := append([]byte(nil), te...)
	ihl[8] = 0x4f // header of 60 bytes: more than quoted
	for name, b := range map[string][]byte{
		"empty": nil, "short": {0, 0}, "echo header cut": req[:6],
		"quote cut": te[:8+20+4], "quoted udp": udp, "quoted ihl": ihl, "quoted v6": append(append([]byte(nil), te[:8]...), 0x60),
	} {
		if r, err := ParseReply(b); err == nil {
			t.Errorf("%s: parsed as %+v", name, r)
		}
	}
}

func TestFormatRTT(t *testing.T) {
	for _, tc := range []struct {
		us   int64
		want string
	}{{123, "0.123"}, {1234, "1.23"}, {12345, "12.3"}, {123456, "123"}} {
		if got := formatRTT(microseconds(tc.us)); got != tc.want {
			t.Errorf("%dus: %s, want %s", tc.us, got, tc.want)
		}
	}
}

func TestFormatHop(t *testing.T) {
	other := netip.MustParseAddr("10.0.1.9")
	for _, tc := range []struct {
		h    Hop
		want string
	}{
		{Hop{TTL: 1, Answers: []Answer{{From: router, RTT: microseconds(412), Kind: TimeExceeded}, {From: router, RTT: microseconds(390), Kind: TimeExceeded}, {}}},
			" 1  10.0.1.1  0.412 ms  0.390 ms *"},
		{Hop{TTL: 2, Answers: []Answer{{}, {}, {}}}, " 2  * * *"},
		{Hop{TTL: 12, Answers: []Answer{{From: router, RTT: microseconds(1000), Kind: TimeExceeded}, {From: other, RTT: microseconds(2000), Kind: TimeExceeded}}},
			"12  10.0.1.1  1.000 ms 10.0.1.9  2.000 ms"},
		{Hop{TTL: 3, Answers: []Answer{{From: router, RTT: microseconds(500), Kind: Unreachable, Code: 1}}}, " 3  10.0.1.1  0.500 ms !H"},
		{Hop{TTL: 3, Answers: []Answer{{From: target, RTT: microseconds(500), Kind: Unreachable, Code: 3}}}, " 3  10.0.2.2  0.500 ms"},
	} {
		if got := FormatHop(tc.h); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
