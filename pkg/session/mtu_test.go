package session

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// The Go client asks for no MRU, so the server's link takes the default
// 1400 for it (ppp.Config.MRU): a packet from TUN of 1401..65535 octets is
// too big for it, as a 1300-octet one is for pppd with "mru 1200".
const clientMRU = 1400

// lanHost is a sender outside the pool: the fake kernel hands what boxd
// writes to it to rig.onOutbound.
var lanHost = netip.MustParseAddr("198.51.100.10")

// withDF sets or clears DF in p and fixes the header checksum.
func withDF(p []byte, df bool) []byte {
	ff := binary.BigEndian.Uint16(p[6:8]) &^ 0x4000
	if df {
		ff |= 0x4000
	}
	binary.BigEndian.PutUint16(p[6:8], ff)
	binary.BigEndian.PutUint16(p[4:6], 0x1234)
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:12], ipv4frag.Checksum(p[:20]))
	return p
}

// reassembleIPv4 is the client's stack: fragments of one datagram (by
// offset, MF on all but the last) back into it.
func reassembleIPv4(t *testing.T, frags [][]byte) []byte {
	t.Helper()
	slices.SortFunc(frags, func(a, b []byte) int {
		return int(binary.BigEndian.Uint16(a[6:8])&0x1fff) - int(binary.BigEndian.Uint16(b[6:8])&0x1fff)
	})
	var data []byte
	for i, f := range frags {
		ff := binary.BigEndian.Uint16(f[6:8])
		if int(ff&0x1fff)*8 != len(data) || (ff&0x2000 != 0) != (i < len(frags)-1) || ff&0x4000 != 0 {
			t.Fatalf("fragment %d: flags/offset %#04x after %d octets", i, ff, len(data))
		}
		if ipv4frag.Checksum(f[:20]) != 0 || !bytes.Equal(f[12:20], frags[0][12:20]) || !bytes.Equal(f[4:6], frags[0][4:6]) {
			t.Fatalf("fragment %d: header %x", i, f[:20])
		}
		data = append(data, f[20:]...)
	}
	out := slices.Concat(frags[0][:20], data)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	binary.BigEndian.PutUint16(out[6:8], 0)
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], ipv4frag.Checksum(out[:20]))
	return out
}

// DF clear: a packet over the client's MRU reaches it as fragments, each
// within the MRU, that reassemble to the packet.
func TestTooBigFragmented(t *testing.T) {
	r := newRig(t, nil)
	got := make(chan []byte, 100)
	c, err := r.dial(t, "alice", "alice-pw", func(p []byte) { got <- bytes.Clone(p) })
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{clientMRU + 1, 1500, 4000} {
		payload := make([]byte, size-28)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		pkt := withDF(udpPacket(lanHost, c.Addr(), payload), false)
		r.tun.Inbound <- bytes.Clone(pkt)
		want := (size - 20 + (clientMRU-20)&^7 - 1) / ((clientMRU - 20) &^ 7)
		var frags [][]byte
		for len(frags) < want {
			select {
			case f := <-got:
				if len(f) > clientMRU {
					t.Fatalf("fragment of %d octets over the MRU %d", len(f), clientMRU)
				}
				frags = append(frags, f)
			case <-time.After(10 * time.Second):
				t.Fatalf("size %d: %d of %d fragments arrived (stats %+v)", size, len(frags), want, r.srv.Stats())
			}
		}
		if back := reassembleIPv4(t, frags); !bytes.Equal(back, pkt) {
			t.Fatalf("size %d: reassembled packet differs", size)
		}
	}
	// The counters move after each send returns, which may be after the
	// client has the fragment.
	waitFor(t, func() bool {
		st := r.srv.Stats()
		return st.TUNFragmented == 3 && st.TUNFragmentsOut == 2+2+3 && r.srv.Sessions()[0].PktsOut == 7
	})
	if st := r.srv.Stats(); st.TUNNoSession != 0 || st.TUNFragNeededSent != 0 || st.TUNTooBigDropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// DF set: the sender gets ICMP "fragmentation needed" from local_ip with
// the client's MRU as next-hop MTU (RFC 1191), rate limited; nothing
// reaches the client. What RFC 1122 §3.2.2 forbids answering is dropped.
func TestTooBigFragNeeded(t *testing.T) {
	r := newRig(t, func(c *Config) { c.ICMPRate, c.ICMPBurst = 1, 3 })
	out := make(chan []byte, 100)
	r.onOutbound = func(p []byte) { out <- p }
	got := make(chan []byte, 100)
	c, err := r.dial(t, "alice", "alice-pw", func(p []byte) { got <- bytes.Clone(p) })
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pkt := withDF(udpPacket(lanHost, c.Addr(), make([]byte, 1500-28)), true)
	const n = 10
	for range n {
		r.tun.Inbound <- bytes.Clone(pkt)
	}
	// Not answered: a multicast source.
	bad := withDF(udpPacket(netip.MustParseAddr("224.0.0.9"), c.Addr(), make([]byte, 1500-28)), true)
	r.tun.Inbound <- bad
	// A packet that fits still goes through: the client sees only it.
	r.tun.Inbound <- withDF(udpPacket(lanHost, c.Addr(), make([]byte, 100)), true)
	select {
	case p := <-got:
		if len(p) != 128 {
			t.Fatalf("client got a %d-octet packet", len(p))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("small packet not delivered")
	}
	waitFor(t, func() bool {
		st := r.srv.Stats()
		return st.TUNFragNeededSent+st.TUNFragNeededLimited == n && st.TUNTooBigDropped == 1
	})
	st := r.srv.Stats()
	// Burst 3, then one per second.
	if maxSent := 3 + uint64(time.Since(start)/time.Second); st.TUNFragNeededSent < 3 || st.TUNFragNeededSent > maxSent {
		t.Fatalf("%d replies sent, want 3..%d (stats %+v)", st.TUNFragNeededSent, maxSent, st)
	}
	if st.TUNFragmented != 0 || st.TUNNoSession != 0 {
		t.Fatalf("stats %+v", st)
	}
	for range st.TUNFragNeededSent {
		var p []byte
		select {
		case p = <-out:
		case <-time.After(5 * time.Second):
			t.Fatal("reply counted but not written to TUN")
		}
		if netip.AddrFrom4([4]byte(p[12:16])) != r.srv.cfg.LocalIP || netip.AddrFrom4([4]byte(p[16:20])) != lanHost {
			t.Fatalf("reply %v -> %v", p[12:16], p[16:20])
		}
		icmp := p[20:]
		if p[9] != 1 || icmp[0] != 3 || icmp[1] != 4 || ipv4frag.Checksum(icmp) != 0 {
			t.Fatalf("not a valid frag-needed: %x", p)
		}
		if mtu := binary.BigEndian.Uint16(icmp[6:8]); mtu != clientMRU {
			t.Fatalf("next-hop MTU %d, want %d", mtu, clientMRU)
		}
		if !bytes.Equal(icmp[8:], pkt[:28]) {
			t.Fatalf("quoted %x", icmp[8:])
		}
	}
	select {
	case p := <-got:
		t.Fatalf("client got a %d-octet packet", len(p))
	case p := <-out:
		t.Fatalf("more replies than counted: %x", p[:28])
	case <-time.After(100 * time.Millisecond):
	}
}

func TestTokenBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := tokenBucket{interval: 100 * time.Millisecond, burst: 3}
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false}, // the burst
		{99 * time.Millisecond, false},
		{100 * time.Millisecond, true}, {100 * time.Millisecond, false},
		{350 * time.Millisecond, true}, {350 * time.Millisecond, true}, {350 * time.Millisecond, false},
		{10 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, true}, // full again, no more
		{10 * time.Second, false},
	}
	for i, s := range steps {
		if got := b.allow(t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d at %v: allow = %v, want %v", i, s.at, got, s.want)
		}
	}
}

// BenchmarkServerSendFragmented: a 2000-octet packet from TUN split into
// two fragments for a 1400-octet MRU, each encrypted in place and sent.
func BenchmarkServerSendFragmented(b *testing.B) {
	r, c, sink := sendRig(b)
	pkt := withDF(udpPacket(lanHost, c.Addr(), make([]byte, 2000-28)), false)
	buf := make([]byte, tunHeadroom+len(pkt))
	q := r.srv.newTxQueue(r.srv.tuns[0])
	sink.setMode(modeSink)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf[tunHeadroom:], pkt)
		r.srv.routeToSession(q, buf, tunHeadroom)
	}
	if st := r.srv.Stats(); st.TUNFragmentsOut != 2*st.TUNFragmented || sink.dataSent.Load() != st.TUNFragmentsOut {
		b.Fatalf("stats %+v, %d sent", st, sink.dataSent.Load())
	}
}

// BenchmarkServerFragNeeded: a DF packet over the MRU answered with ICMP
// into TUN (written to a sink).
func BenchmarkServerFragNeeded(b *testing.B) {
	dev := &sinkTUN{}
	r := newRigWrapped(b, func(c *Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.ICMPRate, c.ICMPBurst = 1e9, 1e6
	}, rigWrap{tun: func(d tun.Device) tun.Device { dev.Device = d; return dev }})
	c, err := r.dial(b, "alice", "alice-pw", nil)
	if err != nil {
		b.Fatal(err)
	}
	pkt := withDF(udpPacket(lanHost, c.Addr(), make([]byte, 1500-28)), true)
	buf := make([]byte, tunHeadroom+len(pkt))
	q := r.srv.newTxQueue(r.srv.tuns[0])
	dev.sink.Store(true)
	b.ReportAllocs()
	for b.Loop() {
		copy(buf[tunHeadroom:], pkt)
		r.srv.routeToSession(q, buf, tunHeadroom)
	}
	if st := r.srv.Stats(); st.TUNFragNeededSent == 0 || st.TUNFragNeededSent != dev.written.Load() {
		b.Fatalf("stats %+v, %d written", st, dev.written.Load())
	}
}
