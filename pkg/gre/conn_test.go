package gre

import (
	"fmt"
	"net/netip"
	"testing"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

func newMsgs(n, size int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i].Buf = make([]byte, size)
	}
	return msgs
}

// exchange sends count GRE data packets from a to b (addressed to bAddr) in
// one batch and checks that b reads them in order from aAddr.
func exchange(t *testing.T, a, b Conn, aAddr, bAddr netip.Addr, count int) {
	t.Helper()
	tun := NewTunnel(TunnelConfig{PeerCallID: 77})
	out := make([]Message, count)
	for i := range out {
		payload := fmt.Appendf(nil, "packet %d from %v", i, aAddr)
		h := tun.NextHeader(len(payload))
		out[i] = Message{Buf: append(AppendHeader(nil, h), payload...), Addr: bAddr}
		out[i].N = len(out[i].Buf)
	}
	if n, err := a.WriteBatch(out); n != count || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	in := newMsgs(count, 2048)
	got := 0
	for got < count {
		n, err := b.ReadBatch(in[got:])
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		for _, m := range in[got : got+n] {
			h, payload, err := Parse(m.Buf[:m.N])
			if err != nil {
				t.Fatalf("packet %d: %v", got, err)
			}
			want := fmt.Sprintf("packet %d from %v", h.Seq-1, aAddr)
			if h.CallID != 77 || h.Seq != uint32(got+1) || string(payload) != want || m.Addr != aAddr {
				t.Fatalf("packet %d: %+v %q from %v", got, h, payload, m.Addr)
			}
			got++
		}
	}
}

func TestSplitIPv4(t *testing.T) {
	gre := AppendHeader(nil, Header{CallID: 5})
	ip := func(ihl byte, extra int) []byte {
		h := make([]byte, int(ihl)*4)
		h[0] = 0x40 | ihl
		copy(h[12:16], []byte{203, 0, 113, 7})
		return append(append(h, gre...), make([]byte, extra)...)
	}
	tests := []struct {
		name  string
		pkt   []byte
		wantN int
	}{
		{"plain header", ip(5, 0), len(gre)},
		{"with options", ip(7, 0), len(gre)},
		{"ihl too small", ip(4, 20), 0},
		{"ihl past end", ip(15, 0)[:40], 0},
		{"ipv6 version", append([]byte{0x65}, make([]byte, 40)...), 0},
		{"short", []byte{0x45, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As the kernel scatters it: 20 header bytes, the rest in Buf.
			var hdr [ipv4HeaderLen]byte
			k := copy(hdr[:], tt.pkt)
			m := Message{Buf: append(make([]byte, 0, 64), tt.pkt[k:]...)}
			m.Buf = m.Buf[:cap(m.Buf)]
			splitIPv4(&m, &hdr, len(tt.pkt))
			if m.N != tt.wantN {
				t.Fatalf("N = %d, want %d", m.N, tt.wantN)
			}
			if m.N > 0 && (m.Addr != netip.MustParseAddr("203.0.113.7") || string(m.Buf[:m.N]) != string(gre)) {
				t.Fatalf("got %x from %v", m.Buf[:m.N], m.Addr)
			}
		})
	}
}
