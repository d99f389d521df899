package session

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// The send path, TUN to GRE. One goroutine per TUN queue, readTUN, takes a
// batch of packets through every stage; the functions below follow a
// packet:
//
//  1. readTUN: read a batch of IP packets from the loop's TUN queue, each
//     with tunHeadroom free in front of it: one packet, or with offloads
//     (tun.OpenQueuesOffload) the MTU-sized segments of a TCP or UDP
//     super-packet of up to 64 KiB, split by the device. The kernel spreads flows over
//     the queues, so two loops may send to one session at once: its rate
//     limit is taken under txMu, and the link's transmit lock covers
//     encryption and sendFrame (the order of the sequence numbers and MPPE
//     coherency counts is the order on the wire).
//  2. routeToSession: the session that holds the destination address
//     (sessionByIP; else the session a subnet holding it is routed
//     through, routes.go); over the session's rate limit the packet is dropped
//     (ratelimit.go).
//  3. tooBig: a packet larger than the peer's MRU is fragmented (DF clear),
//     each fragment going on to step 4, or answered with ICMP
//     "fragmentation needed" into TUN (DF set).
//  4. ppp.Link.WriteIPAt: MPPE encrypts the packet in place and the PPP and
//     MPPE headers go into the headroom; the link hands the frame to its
//     SendAt, sendFrame.
//  5. (*Session).sendFrame: the GRE header, with the next sequence number
//     and any ack we owe (received, receive.go), goes in front of the frame.
//  6. (*Session).write: the raw socket (the session's shard's). The
//     packets of a TUN read of more than one (a split super-packet) are
//     queued (a copy) and sent in one sendmmsg per shard socket after the
//     read's last packet (flushGRE, sendbatch.go, which says how the
//     link's own frames keep their place); a lone packet is sent at once.
//
// The link's own packets (LCP, CCP, ...) join at step 5, from the link's
// goroutines; tunMu keeps the sequence numbers in wire order. Nothing is
// allocated per packet: the packet is encrypted where the TUN read put it,
// and the GRE write sends from that same buffer (or a batch's copy).

// tunHeadroom is the room readTUN leaves in front of each packet, so that
// the PPP and MPPE headers (ppp.DataHeadroom) and the GRE header
// (gre.MaxHeaderLen) are written in place: the packet is encrypted where
// the TUN read put it and the GRE write sends from that same buffer.
const tunHeadroom = gre.MaxHeaderLen + ppp.DataHeadroom

// readTUN is step 1: packets the kernel routed to the pool, and put in
// q's queue, go to the session that holds their destination address.
//
// A read yields one packet, or with offloads a super-packet split into up
// to BatchSize packets: bufs[0] takes any packet up to 64 KiB (a packet
// that is not a super-packet always lands there), the others one segment
// each, which the kernel cuts to the device's MTU ([pptp] mtu, at most
// 1500): maxFrame each, not 64 KiB (128 of those would be 8 MiB a queue).
func (s *Server) readTUN(q *txQueue) error {
	bufs, sizes := tun.ReadBuffers(q.tun, tunHeadroom, maxFrame)
	for {
		got, err := q.tun.Read(bufs, sizes, tunHeadroom)
		if errors.Is(err, tun.ErrDropped) {
			s.stats.TUNMalformed.Add(1) // got may still hold the packets before it
			err = nil
		}
		if err != nil {
			if errors.Is(err, tun.ErrClosed) {
				return nil
			}
			return err
		}
		q.batching = got > 1 // one packet goes at once, no copy
		for i := range got {
			s.routeToSession(q, bufs[i][:tunHeadroom+sizes[i]], tunHeadroom)
		}
		s.flushGRE(q)
	}
}

// routeToSession is step 2: the IP packet buf[off:] goes
// to the link of the session that holds its destination, which encrypts it
// in place and hands the frame to sendFrame with the headroom in front. A
// packet larger than the peer's MRU is fragmented or answered with ICMP
// "fragmentation needed" instead (tooBig). q is the calling loop's.
func (s *Server) routeToSession(q *txQueue, buf []byte, off int) {
	pkt := buf[off:]
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		s.stats.TUNMalformed.Add(1)
		return
	}
	ss := s.sessionByIP(netip.AddrFrom4([4]byte(pkt[16:20])))
	if ss == nil {
		s.stats.TUNNoSession.Add(1)
		return
	}
	n := len(pkt) // WriteIPAt overwrites the packet
	ss.txMu.Lock()
	ok := ss.tx.Allow(n)
	ss.txMu.Unlock()
	if !ok {
		ss.limitedOut.Add(1) // policed (ratelimit.go); the whole packet, before fragmenting
		return
	}
	q.claim(ss) // its GRE packets are queued until this read's end
	if mru := ss.link.PeerMRU(); mru > 0 && n > mru {
		// Larger than this client takes, though within the TUN MTU.
		s.tooBig(q, ss, pkt, mru)
		return
	}
	if err := ss.link.WriteIPAt(buf, off); err != nil {
		if mru := ss.link.PeerMRU(); errors.Is(err, ppp.ErrTooBig) && mru > 0 {
			// The link came up between PeerMRU and WriteIPAt; the
			// packet is untouched (the size is checked first).
			s.tooBig(q, ss, pkt, mru)
			return
		}
		// Not up yet (address assigned, IPCP/CCP still negotiating) or gone.
		s.stats.TUNNoSession.Add(1)
		return
	}
	ss.pktsOut.Add(1)
	ss.bytesOut.Add(uint64(n))
}

// tooBig is step 3: it handles pkt, an IPv4 packet from TUN to ss that is
// larger than the peer's MRU mru. Runs on q's readTUN goroutine.
//
// A session's PPP link takes IP packets up to the peer's MRU, but every
// session shares the one TUN device, whose MTU is [pptp] mtu: the kernel
// cannot know that this client takes less. So the send path does what the
// kernel does for pppd's per-client ppp interface (MTU = the peer's MRU):
// a packet larger than the peer's MRU is fragmented when DF is clear
// (RFC 791 §3.2) and answered with ICMP "fragmentation needed" carrying the
// MRU when DF is set (RFC 792, RFC 1191 §4), so path-MTU discovery learns it.
func (s *Server) tooBig(q *txQueue, ss *Session, pkt []byte, mru int) {
	if !ipv4frag.DontFragment(pkt) {
		n, err := ipv4frag.Fragment(pkt, mru, q.frag[tunHeadroom:], func(f []byte) error {
			// f lies in q.frag past tunHeadroom: the link encrypts it in
			// place, with its headers in front, like a packet from TUN.
			if err := ss.link.WriteIPAt(q.frag[:tunHeadroom+len(f)], tunHeadroom); err != nil {
				return err
			}
			ss.pktsOut.Add(1)
			ss.bytesOut.Add(uint64(len(f)))
			return nil
		})
		switch {
		case err == nil:
			s.stats.TUNFragmented.Add(1)
			s.stats.TUNFragmentsOut.Add(uint64(n))
		case n > 0:
			// The link went down between two fragments.
			s.stats.TUNNoSession.Add(1)
		default:
			// Malformed header or options, or an MRU below 68 octets.
			s.stats.TUNTooBigDropped.Add(1)
		}
		return
	}
	id := s.fragNeeded.nextID()
	reply, err := ipv4frag.FragNeeded(q.icmp[tun.Headroom:], pkt, s.cfg.LocalIP, uint16(mru), id)
	if err != nil {
		// RFC 1122 §3.2.2 forbids a reply (ICMP error, fragment,
		// broadcast/multicast, no single-host source), or malformed.
		s.stats.TUNTooBigDropped.Add(1)
		return
	}
	if !s.fragNeeded.allow(time.Now()) {
		s.stats.TUNFragNeededLimited.Add(1)
		return
	}
	n := tun.Headroom + len(reply)
	q.out[0] = q.icmp[:n:n]
	if _, err := q.tun.Write(q.out[:], tun.Headroom); err != nil {
		s.stats.TUNWriteErrors.Add(1)
		s.log.Debug("tun write: frag-needed", "err", err)
		return
	}
	s.stats.TUNFragNeededSent.Add(1)
}

// maxFrame bounds one PPP frame on the GRE path: MRU up to 1500 plus the PPP
// protocol field, the MPPE header and its protocol, with room to spare.
const maxFrame = 2048

// sendFrame is step 5 (the link's SendAt): it puts one PPP frame,
// buf[off:], into GRE with the next sequence number and any pending
// acknowledgement, and sends it to the peer. The link leaves
// gre.MaxHeaderLen bytes in front of the frame, so the header goes in
// place; a frame without that room is copied.
func (ss *Session) sendFrame(buf []byte, off int) {
	n := len(buf) - off
	if n > maxFrame {
		ss.srv.stats.SendErrors.Add(1)
		return
	}
	ss.tunMu.Lock()
	if off < gre.MaxHeaderLen {
		if ss.sendBuf == nil {
			ss.sendBuf = make([]byte, gre.MaxHeaderLen+maxFrame)
		}
		copy(ss.sendBuf[gre.MaxHeaderLen:], buf[off:])
		buf, off = ss.sendBuf[:gre.MaxHeaderLen+n], gre.MaxHeaderLen
	}
	h := ss.tunnel.NextHeader(n)
	pkt, err := gre.Encapsulate(buf, off, h)
	if err == nil {
		err = ss.write(pkt)
	}
	ss.tunMu.Unlock()
	if err != nil {
		ss.srv.stats.SendErrors.Add(1)
	}
}

// write is step 6: it sends one GRE packet to the peer. Called with tunMu
// held, which keeps the packets in sequence-number order on the wire.
func (ss *Session) write(pkt []byte) error {
	if ss.batch != nil {
		ss.batch.add(pkt, ss.peer) // a packet it cannot send counts at the flush
		return nil
	}
	ss.sendMsg[0] = gre.Message{Buf: pkt, N: len(pkt), Addr: ss.peer}
	_, err := ss.srv.shardOf(ss).gre.WriteBatch(ss.sendMsg[:])
	ss.sendMsg[0].Buf = nil
	return err
}

// txQueue is one send loop's own: its TUN queue, and the memory a packet's
// fragments and frag-needed replies are built in, never allocated per
// packet.
type txQueue struct {
	tun tun.Device
	// frag holds one fragment with tunHeadroom in front, where the link
	// writes its PPP/MPPE and GRE headers (as for a packet read from TUN).
	frag []byte
	// icmp holds a frag-needed reply with tun.Headroom in front (the TUN
	// write's virtio-net header).
	icmp []byte
	out  [1][]byte // the one-packet TUN write of a reply
	// batches queue the GRE packets of one TUN read, one per shard
	// socket; claimed are the sessions whose frames go there until
	// flushGRE (sendbatch.go). The loop's own.
	batches []*greBatch
	claimed []*Session
	// batching: the current read gave more than one packet, whose GRE
	// packets are queued (claim); a lone packet is sent at once.
	batching bool
}

func (s *Server) newTxQueue(t tun.Device) *txQueue {
	q := &txQueue{
		tun:     t,
		frag:    make([]byte, tunHeadroom+65536),
		icmp:    make([]byte, tun.Headroom+ipv4frag.MaxFragNeededLen),
		claimed: make([]*Session, 0, t.BatchSize()),
	}
	for _, sh := range s.shards {
		q.batches = append(q.batches, newGREBatch(sh.gre))
	}
	return q
}

// fragNeededLimit is the rate limit and IP identification of the ICMP
// "fragmentation needed" replies, shared by the send loops (rare: a
// mutex).
type fragNeededLimit struct {
	mu    sync.Mutex
	id    uint16 // IP identification of our replies
	limit tokenBucket
}

func newFragNeededLimit(rate, burst int) fragNeededLimit {
	if rate <= 0 {
		rate = defaultICMPRate
	}
	if burst <= 0 {
		burst = defaultICMPBurst
	}
	return fragNeededLimit{limit: tokenBucket{interval: time.Second / time.Duration(rate), burst: burst}}
}

func (f *fragNeededLimit) nextID() uint16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.id++
	return f.id
}

func (f *fragNeededLimit) allow(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limit.allow(now)
}

// Defaults of the frag-needed rate limit: Linux's global ICMP limit
// (net.ipv4.icmp_msgs_per_sec, net.ipv4.icmp_msgs_burst).
const (
	defaultICMPRate  = 1000
	defaultICMPBurst = 50
)

// tokenBucket allows one event per interval on average, burst at once: the
// kernel's ICMP rate limit (icmp_global_allow) in integer form. Not safe
// for concurrent use (fragNeededLimit holds it under its mutex).
type tokenBucket struct {
	interval time.Duration
	burst    int
	tokens   int
	last     time.Time
}

func (b *tokenBucket) allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, now
	}
	if el := now.Sub(b.last); el >= b.interval {
		add := el / b.interval
		if b.tokens+int(min(add, time.Duration(b.burst))) >= b.burst {
			b.tokens, b.last = b.burst, now // full: unspent time is not saved up
		} else {
			b.tokens += int(add)
			b.last = b.last.Add(add * b.interval)
		}
	}
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}
