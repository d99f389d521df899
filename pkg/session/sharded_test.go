package session

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// TestShardedOrder runs four sessions through a server with two receive
// shards and two TUN queues (NewSharded), both ways at once. Each
// session's packets from its client reach TUN in the order sent (one
// shard reads them all), and each session's packets from TUN, fed through
// both queues at once, leave in GRE with sequence numbers and MPPE
// coherency counts that both step by one in wire order: encryption, numbering
// and the write happen under one lock. With batched TUN reads the GRE
// packets of a read are queued and sent after it (sendbatch.go): the two
// loops' queues and the acks the receive side sends meanwhile keep that
// order too. Run it with -race.
func TestShardedOrder(t *testing.T) {
	for _, tunBatch := range []int{1, 32} {
		t.Run(fmt.Sprintf("tun_batch=%d", tunBatch), func(t *testing.T) { testShardedOrder(t, tunBatch) })
	}
}

func testShardedOrder(t *testing.T, tunBatch int) {
	const sessions, n = 4, 200
	pr, r, clients := newParallelRigBatched(t, sessions, 2, tunBatch)
	lan := netip.MustParseAddr("192.0.2.1")

	var mu sync.Mutex
	lastIn := map[netip.Addr]uint32{}
	for _, q := range pr.queues {
		q.onWrite = func(p []byte) {
			mu.Lock()
			defer mu.Unlock()
			src, k := netip.AddrFrom4([4]byte(p[12:16])), binary.BigEndian.Uint32(p[28:])
			if k != lastIn[src]+1 {
				t.Errorf("from %v: packet %d after %d", src, k, lastIn[src])
			}
			lastIn[src] = k
		}
	}
	type wire struct{ seq, ccount uint32 }
	lastOut := map[uint16]wire{}
	outErrs := 0
	for _, f := range pr.shards {
		f.onSent = func(h gre.Header, frame []byte) {
			mu.Lock()
			defer mu.Unlock()
			cc := mppeCount(frame)
			if w, ok := lastOut[h.CallID]; ok && (h.Seq != w.seq+1 || cc != (w.ccount+1)%4096) {
				outErrs++
				if outErrs < 5 {
					t.Errorf("call %d: seq %d ccount %d after seq %d ccount %d", h.CallID, h.Seq, cc, w.seq, w.ccount)
				}
			}
			lastOut[h.CallID] = wire{h.Seq, cc}
		}
		f.sink.Store(true)
	}

	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range uint32(n) {
				p := udpPacket(c.Addr(), lan, make([]byte, 1400-28))
				binary.BigEndian.PutUint32(p[28:], k+1)
				if err := c.WriteIP(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		var down [2][][]byte
		for k := range n {
			down[k%2] = append(down[k%2], udpPacket(lan, clients[i].Addr(), make([]byte, 1400-28)))
		}
		for q, pkts := range down {
			go pr.queues[q].feed(pkts)
		}
	}
	wg.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for pr.toTUN.Load() < sessions*n || pr.dataSent.Load() < sessions*n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packets to TUN, %d of %d sent", pr.toTUN.Load(), sessions*n, pr.dataSent.Load(), sessions*n)
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lastIn) != sessions || len(lastOut) != sessions {
		t.Errorf("packets from %d sessions into TUN, to %d sessions out of GRE; want %d", len(lastIn), len(lastOut), sessions)
	}
	shardsUsed := map[int]bool{}
	for id := range lastOut {
		shardsUsed[gre.Shard(id, 2)] = true
	}
	if len(shardsUsed) != 2 {
		t.Errorf("the calls' IDs %v are all in one shard", lastOut)
	}

	// A packet of a call read by the other shard's socket (no filter, or
	// queued before it) is not the other goroutine's to handle.
	for id := range lastOut {
		before := r.srv.Stats().GREUnknownCall
		pkt := gre.AppendHeader(nil, gre.Header{CallID: id, HasSeq: true, Seq: 1 << 20, PayloadLen: 4})
		r.srv.handleGRE(r.srv.shards[1-gre.Shard(id, 2)], append(pkt, 0xff, 0x03, 0xc0, 0x21), netip.MustParseAddr("127.0.0.1"))
		if got := r.srv.Stats().GREUnknownCall; got != before+1 {
			t.Errorf("call %d on the wrong shard: gre_unknown_call %d, want %d", id, got, before+1)
		}
		break
	}
}

// mppeCount is the coherency count of the MPPE packet in PPP frame f
// (RFC 3078 §3): after the address and control fields (when present) and
// the protocol (one octet when compressed).
func mppeCount(f []byte) uint32 {
	if len(f) > 2 && f[0] == 0xff && f[1] == 0x03 {
		f = f[2:]
	}
	if len(f) > 0 && f[0]&1 == 1 {
		f = f[1:]
	} else if len(f) > 1 {
		f = f[2:]
	}
	if len(f) < 2 {
		return 1 << 31
	}
	return uint32(f[0]&0x0f)<<8 | uint32(f[1])
}

// TestPacketPathNoAllocs: with two receive shards and two TUN queues, a
// packet costs no allocation either way: TUN to GRE (session lookup,
// encryption in place, GRE header, write) and GRE to TUN (shard check,
// window, decryption in place, source check, the shard's TUN write).
func TestPacketPathNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const runs = 200
	pr, r, clients := newParallelRig(t, 2, 2)
	c := clients[0]
	lan := netip.MustParseAddr("192.0.2.1")
	for _, f := range pr.shards {
		f.sink.Store(true)
	}
	ss := r.srv.sessionByIP(c.Addr())
	q := r.srv.newTxQueue(pr.queues[0])
	down := udpPacket(lan, c.Addr(), make([]byte, 1400-28))
	buf := make([]byte, tunHeadroom+len(down))
	before := pr.dataSent.Load()
	if a := testing.AllocsPerRun(runs, func() {
		copy(buf[tunHeadroom:], down)
		r.srv.routeToSession(q, buf, tunHeadroom)
	}); a != 0 {
		t.Errorf("TUN to GRE: %v allocs per packet", a)
	}
	if got := pr.dataSent.Load() - before; got != runs+1 {
		t.Errorf("%d of %d packets sent", got, runs+1)
	}
	// A read of a split super-packet: its packets are queued, copied, and
	// sent in one call after it (sendbatch.go).
	q.batching = true
	before = pr.dataSent.Load()
	if a := testing.AllocsPerRun(runs, func() {
		for range 4 {
			copy(buf[tunHeadroom:], down)
			r.srv.routeToSession(q, buf, tunHeadroom)
		}
		r.srv.flushGRE(q)
	}); a != 0 {
		t.Errorf("TUN to GRE, batched: %v allocs per read of 4 packets", a)
	}
	if got := pr.dataSent.Load() - before; got != 4*(runs+1) {
		t.Errorf("batched: %d of %d packets sent", got, 4*(runs+1))
	}
	q.batching = false

	// The client's packets, captured first: AllocsPerRun runs its
	// function once more than runs.
	pr.capture.setMode(modeCapture)
	up := udpPacket(c.Addr(), lan, make([]byte, 1400-28))
	for range runs + 1 {
		if err := c.WriteIP(up); err != nil {
			t.Fatal(err)
		}
	}
	pr.capture.setMode(modePass)
	var data [][]byte
	for _, p := range pr.capture.captured {
		if _, payload, _ := gre.Parse(p); len(payload) >= 1400 {
			data = append(data, p)
		}
	}
	if len(data) != runs+1 {
		t.Fatalf("%d data packets captured, want %d", len(data), runs+1)
	}
	sh := r.srv.shardOf(ss)
	from := netip.MustParseAddr("127.0.0.1")
	beforeTUN, i := pr.toTUN.Load(), 0
	// The shard's own loop is idle (the clients get no data from the sink,
	// so they send no acks), so the test may run its steps.
	if a := testing.AllocsPerRun(runs, func() {
		r.srv.handleGRE(sh, data[i], from)
		r.srv.flushTUN(sh)
		i++
	}); a != 0 {
		t.Errorf("GRE to TUN: %v allocs per packet", a)
	}
	if got := pr.toTUN.Load() - beforeTUN; got != runs+1 {
		t.Errorf("%d of %d packets written to TUN (stats %+v)", got, runs+1, r.srv.Stats())
	}
}
