package session

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// The dataplane benchmarks push 1400-byte packets through a whole session,
// in-process (Go client, GRE pipe, fake TUN), in each direction, with
// MPPE-128 stateless. Compare their MB/s with pkg/mppe's cipher benchmarks:
// the crypto is the ceiling.

func BenchmarkClientToTUN(b *testing.B) {
	done := make(chan struct{})
	n := 0
	r := newRig(b, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) })
	r.onOutbound = func([]byte) {
		n++
		if n == b.N {
			close(done)
		}
	}
	c, err := r.dial(b, "alice", "alice-pw", nil)
	if err != nil {
		b.Fatal(err)
	}
	pkt := udpPacket(c.Addr(), netip.MustParseAddr("192.0.2.1"), make([]byte, 1400-28))
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.WriteIP(pkt); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("not all packets arrived")
	}
}

func BenchmarkTUNToClient(b *testing.B) {
	r := newRig(b, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) })
	got := make(chan struct{}, 1)
	n := 0
	c, err := r.dial(b, "alice", "alice-pw", func([]byte) {
		n++
		if n == b.N {
			got <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	pkt := udpPacket(netip.MustParseAddr("192.0.2.1"), c.Addr(), make([]byte, 1400-28))
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.tun.Inbound <- pkt
	}
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d packets arrived", n, b.N)
	}
}

// The server-only benchmarks run one half of the server's packet path on the
// benchmark goroutine, with the client's work (and the fakes' copies) kept
// out of the timed part: what they report, allocations included, is the
// server's own cost per packet.

// BenchmarkServerSend: TUN buffer with headroom -> session lookup -> MPPE
// encrypt in place -> GRE header in place -> GRE write (counted, dropped).
func BenchmarkServerSend(b *testing.B) { benchSend(b, ratelimit.Limit{}) }

// BenchmarkServerSendLimited is BenchmarkServerSend through a rate limit
// the benchmark never reaches (MaxRate): the cost of the token bucket.
func BenchmarkServerSendLimited(b *testing.B) {
	benchSend(b, ratelimit.Rates(ratelimit.MaxRate, ratelimit.MaxRate))
}

func benchSend(b *testing.B, limit ratelimit.Limit) {
	r, c, sink := sendRig(b)
	r.srv.sessionByIP(c.Addr()).SetRateLimit(limit)
	pkt := udpPacket(netip.MustParseAddr("192.0.2.1"), c.Addr(), make([]byte, 1400-28))
	buf := make([]byte, tunHeadroom+len(pkt))
	q := r.srv.newTxQueue(r.srv.tuns[0])
	sink.setMode(modeSink)
	before := r.srv.Stats()
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf[tunHeadroom:], pkt) // what the TUN read does
		r.srv.routeToSession(q, buf, tunHeadroom)
	}
	b.StopTimer()
	if got := sink.dataSent.Load(); got != uint64(b.N) {
		b.Fatalf("%d of %d packets sent (stats before %+v after %+v)", got, b.N, before, r.srv.Stats())
	}
}

// receiveCaptured feeds the server b.N packets of pkt from client c, the
// way the receive loop does (batch-sized TUN flushes). The packets are
// encrypted and captured in chunks with the timer stopped, so only the
// server's receive path is timed; the timer is stopped on return.
func receiveCaptured(b *testing.B, r *rig, c *client.Client, capture *switchGRE, pkt []byte, from netip.Addr) {
	const chunk = 1024
	for done := 0; done < b.N; {
		k := min(chunk, b.N-done)
		b.StopTimer()
		capture.setMode(modeCapture)
		for range k {
			if err := c.WriteIP(pkt); err != nil {
				b.Fatal(err)
			}
		}
		capture.setMode(modePass)
		b.StartTimer()
		for i, p := range capture.captured {
			r.srv.handleGRE(r.srv.shards[0], p, from)
			if (i+1)%batch == 0 {
				r.srv.flushTUN(r.srv.shards[0])
			}
		}
		r.srv.flushTUN(r.srv.shards[0])
		done += k
	}
	b.StopTimer()
}

// sendRig is a rig whose server's GRE writes a send benchmark can sink,
// with alice dialled in.
func sendRig(b *testing.B) (*rig, *client.Client, *switchGRE) {
	sink := &switchGRE{}
	r := newRigWrapped(b, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) },
		rigWrap{server: func(g gre.Conn) gre.Conn { sink.Conn = g; return sink }})
	c, err := r.dial(b, "alice", "alice-pw", nil)
	if err != nil {
		b.Fatal(err)
	}
	return r, c, sink
}

// BenchmarkServerReceive: GRE packet -> session by call ID -> sequence
// window -> MPPE decrypt in place -> source check -> TUN write per batch
// (counted, dropped). The client's encrypted packets are captured in chunks
// with the timer stopped.
func BenchmarkServerReceive(b *testing.B) {
	capture := &switchGRE{}
	dev := &sinkTUN{}
	r := newRigWrapped(b, func(c *Config) { c.Logger = slog.New(slog.DiscardHandler) }, rigWrap{
		client: func(g gre.Conn) gre.Conn { capture.Conn = g; return capture },
		tun:    func(d tun.Device) tun.Device { dev.Device = d; return dev },
	})
	c, err := r.dial(b, "alice", "alice-pw", nil)
	if err != nil {
		b.Fatal(err)
	}
	pkt := udpPacket(c.Addr(), netip.MustParseAddr("192.0.2.1"), make([]byte, 1400-28))
	from := netip.MustParseAddr("127.0.0.1")
	dev.sink.Store(true)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	receiveCaptured(b, r, c, capture, pkt, from)
	if got := dev.written.Load(); got != uint64(b.N) {
		b.Fatalf("%d of %d packets reached TUN (stats %+v)", got, b.N, r.srv.Stats())
	}
}

const (
	modePass    = iota // writes go through
	modeSink           // writes are counted and dropped
	modeCapture        // writes are stored in captured, not sent
)

// switchGRE wraps a GRE connection so that a benchmark can take its writes
// off the wire.
type switchGRE struct {
	gre.Conn
	mu       sync.Mutex
	mode     int
	captured [][]byte // modeCapture: the packets, buffers reused
	arena    [][]byte
	dataSent atomic.Uint64 // modeSink: packets with a payload
}

func (g *switchGRE) setMode(m int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode = m
	if m == modeCapture {
		g.captured = g.captured[:0]
	}
}

func (g *switchGRE) WriteBatch(msgs []gre.Message) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.mode {
	case modeSink:
		for _, m := range msgs {
			if h, payload, err := gre.Parse(m.Buf[:m.N]); err == nil && h.HasSeq && len(payload) > 0 {
				g.dataSent.Add(1)
			}
		}
		return len(msgs), nil
	case modeCapture:
		for _, m := range msgs {
			i := len(g.captured)
			if i == len(g.arena) {
				g.arena = append(g.arena, make([]byte, 2048))
			}
			g.captured = append(g.captured, g.arena[i][:copy(g.arena[i], m.Buf[:m.N])])
		}
		return len(msgs), nil
	}
	return g.Conn.WriteBatch(msgs)
}

// sinkTUN wraps a TUN device; once sink is set, writes are counted and
// dropped instead of copied to the fake kernel.
type sinkTUN struct {
	tun.Device
	sink    atomic.Bool
	written atomic.Uint64
}

func (d *sinkTUN) Write(bufs [][]byte, offset int) (int, error) {
	if !d.sink.Load() {
		return d.Device.Write(bufs, offset)
	}
	d.written.Add(uint64(len(bufs)))
	return len(bufs), nil
}
