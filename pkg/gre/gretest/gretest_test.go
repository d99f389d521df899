package gretest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

func newMsgs(n, size int) []gre.Message {
	msgs := make([]gre.Message, n)
	for i := range msgs {
		msgs[i].Buf = make([]byte, size)
	}
	return msgs
}

// exchange writes count packets from a to bAddr in one batch and checks
// that b reads them whole and in order, from aAddr.
func exchange(t *testing.T, a, b gre.Conn, aAddr, bAddr netip.Addr, count int) {
	t.Helper()
	out := make([]gre.Message, count)
	for i := range out {
		out[i].Buf = fmt.Appendf(nil, "packet %d from %v", i, aAddr)
		out[i].N, out[i].Addr = len(out[i].Buf), bAddr
	}
	if n, err := a.WriteBatch(out); n != count || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	in := newMsgs(count, 2048)
	for got := 0; got < count; {
		n, err := b.ReadBatch(in[got:])
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		for _, m := range in[got : got+n] {
			want := fmt.Sprintf("packet %d from %v", got, aAddr)
			if string(m.Buf[:m.N]) != want || m.Addr != aAddr {
				t.Fatalf("read %q from %v, want %q from %v", m.Buf[:m.N], m.Addr, want, aAddr)
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
	stray := []gre.Message{{Buf: []byte{1, 2, 3}, N: 3, Addr: netip.MustParseAddr("198.51.100.9")}}
	if n, err := a.WriteBatch(stray); n != 1 || err != nil {
		t.Fatalf("WriteBatch stray = %d, %v", n, err)
	}
	exchange(t, a, b, addrA, addrB, 1) // the next packet read is not the stray one

	// N beyond the buffer is refused, not read past.
	if n, err := a.WriteBatch([]gre.Message{{Buf: make([]byte, 4), N: 5, Addr: addrB}}); n != 0 || err == nil {
		t.Fatalf("WriteBatch with N > len(Buf) = %d, %v", n, err)
	}
	if n, err := b.ReadBatch(nil); n != 0 || err != nil {
		t.Fatalf("ReadBatch(nil) = %d, %v", n, err)
	}

	// A short read buffer truncates like a raw socket.
	a.WriteBatch([]gre.Message{{Buf: make([]byte, 100), N: 100, Addr: addrB}})
	small := []gre.Message{{Buf: make([]byte, 10)}}
	if n, err := b.ReadBatch(small); n != 1 || err != nil || small[0].N != 10 {
		t.Fatalf("truncated read = %d, %v, N %d", n, err, small[0].N)
	}

	// A packet bigger than the pooled buffers still goes through whole.
	big := make([]byte, 3*bufSize)
	big[len(big)-1] = 7
	a.WriteBatch([]gre.Message{{Buf: big, N: len(big), Addr: addrB}})
	in := newMsgs(1, len(big))
	if n, err := b.ReadBatch(in); n != 1 || err != nil || in[0].N != len(big) || in[0].Buf[len(big)-1] != 7 {
		t.Fatalf("big read = %d, %v, N %d", n, err, in[0].N)
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
	if _, err := a.WriteBatch([]gre.Message{{Buf: []byte{1}, N: 1, Addr: addrB}}); err != nil {
		t.Errorf("write to closed peer: %v", err)
	}
	a.Close()
	if _, err := a.WriteBatch([]gre.Message{{Buf: []byte{1}, N: 1, Addr: addrB}}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on closed end: %v", err)
	}
}

// BenchmarkPipe: the pooled buffers make the pipe allocation-free, so the
// in-process dataplane benchmarks count only the server's allocations.
func BenchmarkPipe(b *testing.B) {
	x, y := NewPipe(addrA, addrB)
	defer x.Close()
	defer y.Close()
	out := []gre.Message{{Buf: make([]byte, 1400), N: 1400, Addr: addrB}}
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
