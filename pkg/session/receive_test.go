package session

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// Inbound checks: a GRE packet with a live call's key from another address
// is dropped before the link sees it, and a client cannot send from an
// address other than its own into the network.
func TestInboundSpoofing(t *testing.T) {
	r := newRig(t, nil)
	var mu sync.Mutex
	var outbound [][]byte
	r.onOutbound = func(p []byte) {
		mu.Lock()
		outbound = append(outbound, append([]byte(nil), p...))
		mu.Unlock()
	}
	a, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	info := r.srv.Sessions()[0]

	// Another host sends with alice's call ID (an LCP Terminate-Request
	// would end her session if it got through).
	frame := ppp.AppendFrame(nil, ppp.ProtoLCP, ppp.Packet{Code: ppp.CodeTermReq, ID: 9}.Append(nil), false, false)
	pkt := gre.AppendHeader(nil, gre.Header{CallID: info.CallID, Seq: 1 << 30, HasSeq: true, PayloadLen: uint16(len(frame))})
	before := r.srv.Stats().GREWrongPeer
	r.srv.handleGRE(r.srv.shards[0], append(pkt, frame...), netip.MustParseAddr("192.0.2.66"))
	if got := r.srv.Stats().GREWrongPeer; got != before+1 {
		t.Fatalf("gre_wrong_peer %d, want %d", got, before+1)
	}

	dst := netip.MustParseAddr("192.0.2.1")
	spoofed := udpPacket(netip.MustParseAddr("10.79.97.250"), dst, []byte("spoofed"))
	own := udpPacket(a.Addr(), dst, []byte("own"))
	for _, p := range [][]byte{spoofed, own} {
		if err := a.WriteIP(p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(outbound) > 0 })
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(outbound) != 1 || string(outbound[0][28:]) != "own" {
		t.Fatalf("TUN got %d packets, first %q; want only the one from the client's own address", len(outbound), outbound[0][28:])
	}
	select {
	case <-a.Done():
		t.Fatalf("session ended: %s", a.Reason())
	default:
	}
}

// TestQueueTUNHeadroom: a packet goes to the TUN write with tun.Headroom
// octets of its own receive buffer in front and that buffer's end as its
// capacity; one with less room in front, or not in the message's buffer,
// is refused (never written with less).
func TestQueueTUNHeadroom(t *testing.T) {
	sh := &rxShard{}
	msg := make([]byte, 100, 120)
	sh.cur = msg[:cap(msg)]
	if sh.queueTUN(msg[tun.Headroom-1 : 60]) {
		t.Errorf("a packet with %d octets in front queued", tun.Headroom-1)
	}
	other := make([]byte, 100)
	if sh.queueTUN(other[20:60]) {
		t.Error("a packet outside the message's buffer queued")
	}
	if !sh.queueTUN(msg[20:60]) || len(sh.tunOut) != 1 {
		t.Fatalf("a packet with 20 octets in front refused")
	}
	q := sh.tunOut[0]
	if &q[0] != &msg[20-tun.Headroom] || len(q) != 40+tun.Headroom || cap(q) != 120-(20-tun.Headroom) {
		t.Errorf("queued %d octets (cap %d), want %d from offset %d (cap to the buffer's end)", len(q), cap(q), 40+tun.Headroom, 20-tun.Headroom)
	}
}
