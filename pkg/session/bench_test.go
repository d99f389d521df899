package session

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"
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
