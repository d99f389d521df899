package gre

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
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

func TestPipe(t *testing.T) {
	a, b := NewPipe(addrA, addrB)
	defer a.Close()
	defer b.Close()
	exchange(t, a, b, addrA, addrB, 10)
	exchange(t, b, a, addrB, addrA, 3)

	// A packet to an address nobody has is dropped, as the network would.
	stray := []Message{{Buf: []byte{1, 2, 3}, N: 3, Addr: netip.MustParseAddr("198.51.100.9")}}
	if n, err := a.WriteBatch(stray); n != 1 || err != nil {
		t.Fatalf("WriteBatch stray = %d, %v", n, err)
	}
	exchange(t, a, b, addrA, addrB, 1) // the next packet read is not the stray one

	// N beyond the buffer is refused, not read past.
	if n, err := a.WriteBatch([]Message{{Buf: make([]byte, 4), N: 5, Addr: addrB}}); n != 0 || err == nil {
		t.Fatalf("WriteBatch with N > len(Buf) = %d, %v", n, err)
	}
	if n, err := b.ReadBatch(nil); n != 0 || err != nil {
		t.Fatalf("ReadBatch(nil) = %d, %v", n, err)
	}

	// A short read buffer truncates like a raw socket.
	a.WriteBatch([]Message{{Buf: make([]byte, 100), N: 100, Addr: addrB}})
	small := []Message{{Buf: make([]byte, 10)}}
	if n, err := b.ReadBatch(small); n != 1 || err != nil || small[0].N != 10 {
		t.Fatalf("truncated read = %d, %v, N %d", n, err, small[0].N)
	}
}

func TestPipeClose(t *testing.T) {
	a, b := NewPipe(addrA, addrB)
	errc := make(chan error, 1)
	go func() {
		_, err := b.ReadBatch(newMsgs(1, 64))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadBatch after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	// Writing to a closed peer drops silently; writing on a closed end fails.
	if _, err := a.WriteBatch([]Message{{Buf: []byte{1}, N: 1, Addr: addrB}}); err != nil {
		t.Errorf("write to closed peer: %v", err)
	}
	a.Close()
	if _, err := a.WriteBatch([]Message{{Buf: []byte{1}, N: 1, Addr: addrB}}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on closed end: %v", err)
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

// BenchmarkPipe: the pooled buffers make the pipe allocation-free, so the
// in-process dataplane benchmarks count only the server's allocations.
func BenchmarkPipe(b *testing.B) {
	x, y := NewPipe(addrA, addrB)
	defer x.Close()
	defer y.Close()
	out := []Message{{Buf: make([]byte, 1400), N: 1400, Addr: addrB}}
	in := newMsgs(1, 2048)
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		x.WriteBatch(out)
		if n, err := y.ReadBatch(in); err != nil || n != 1 || in[0].N != 1400 {
			b.Fatalf("read %d, %v", n, err)
		}
	}
}
