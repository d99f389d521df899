package session

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// The receive path, GRE to TUN. One goroutine per receive shard,
// receiveGRE, takes a batch of packets through every stage; the functions
// below follow a packet:
//
//  1. receiveGRE: read a batch of GRE packets from the shard's raw socket
//     (proto 47), which gets the packets of the call IDs in its shard only
//     (gre.ListenIPv4Shards; the server picks call IDs to balance them,
//     callid.go): one call's packets are handled on one goroutine, in order.
//  2. handleGRE: gre.Parse, the session by the key's call ID (callByID), and
//     the packet must come from the control connection's peer.
//  3. (*Session).received: the call's gre.Tunnel takes the sequence number
//     into its window and notes the ack we owe (piggy-backed on our next
//     data packet by sendFrame, send.go, or sent alone by sendAck).
//  4. ppp.Link.Input: the PPP frame; MPPE decrypts it in place in the
//     receive buffer (ppp.Config.InputInPlace) and the link hands the IP
//     packet to OnIP.
//  5. (*Session).onIP: the packet's source must be the peer's own address
//     or inside a subnet routed through the session (routes.go), and within the session's rate limit (ratelimit.go); it is queued in
//     tunOut.
//  6. flushTUN: one TUN write (to the shard's queue) for the whole batch,
//     before the next read reuses the buffers. A TUN queue with offloads
//     (tun.OpenQueuesOffload) coalesces the packets of one TCP or UDP flow
//     into one super-packet (GRO, checksums checked), one write system
//     call per flow per batch.
//
// Nothing is copied or allocated per packet: the IP packets written to TUN
// lie in the GRE receive buffers, each with the spent GRE, PPP and MPPE
// headers in front of it, of which the TUN write takes tun.Headroom octets
// for its virtio-net header; the coalescing grows the first packet of a
// flow into the rest of its own receive buffer (one message holds one
// packet, and its slice's capacity ends with that message's buffer).

// rxShard is one receive loop's own state.
type rxShard struct {
	gre gre.Conn   // receives the packets of this shard's call IDs
	tun tun.Device // the TUN queue flushTUN writes to
	// tunOut collects the IP packets of one GRE batch for one TUN write;
	// owned by the shard's receiveGRE goroutine. Each is the packet with
	// tun.Headroom octets in front, its capacity ending with its message's
	// buffer (queueTUN).
	tunOut [][]byte
	// cur is the receive buffer of the GRE message being handled, the one
	// the link's OnIP packet lies in (handleGRE sets it, queueTUN reads it).
	cur []byte
	// calls counts the calls in this shard (newCallID balances them);
	// under Server.mu.
	calls int
}

// shardOf is the receive shard of ss: the one its GRE packets arrive on.
func (s *Server) shardOf(ss *Session) *rxShard {
	return s.shards[s.shardIndex(ss)]
}

// shardIndex is the index of ss's shard in s.shards.
func (s *Server) shardIndex(ss *Session) int {
	return gre.Shard(ss.callID, len(s.shards))
}

// receiveGRE is step 1: the calls of shard sh send their GRE packets to its
// raw socket; they are demultiplexed by the key's call ID. Links decrypt in
// place (ppp.Config.InputInPlace), so the IP packets their OnIP collects in
// sh.tunOut lie in msgs' buffers; they go to TUN in one write per GRE batch,
// before the next read reuses the buffers.
func (s *Server) receiveGRE(sh *rxShard) error {
	msgs := make([]gre.Message, batch)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 65536)
	}
	for {
		n, err := sh.gre.ReadBatch(msgs)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range msgs[:n] {
			s.handleGRE(sh, msgs[i].Buf[:msgs[i].N], msgs[i].Addr)
		}
		s.flushTUN(sh)
	}
}

// handleGRE is step 2: the packet, read by shard sh, goes to the session
// of its key's call ID if it comes from that session's peer. A call of
// another shard is unknown here (its socket's filter keeps such packets
// out; a socket without one, or a packet queued before the filter came,
// must not reach the link from a second goroutine). b's capacity is its
// receive buffer's (sh.cur), which the packet it carries may be coalesced
// into (queueTUN).
func (s *Server) handleGRE(sh *rxShard, b []byte, from netip.Addr) {
	h, payload, err := gre.Parse(b)
	if err != nil {
		s.stats.GREMalformed.Add(1)
		return
	}
	ss := s.callByID(h.CallID)
	if ss == nil || s.shardOf(ss) != sh {
		s.stats.GREUnknownCall.Add(1)
		return
	}
	if ss.peer != from.Unmap() {
		s.stats.GREWrongPeer.Add(1)
		return
	}
	sh.cur = b[:cap(b)]
	ss.received(h, payload)
}

// received is step 3: it runs the sequence window on a GRE packet of this
// session and hands its PPP frame to the link (step 4). The peer's first
// packet starts the link (start).
func (ss *Session) received(h gre.Header, payload []byte) {
	ss.tunMu.Lock()
	v := ss.tunnel.ReceiveVerdict(h)
	if v == gre.Deliver && len(payload) > 0 && ss.ackTimer == nil {
		ss.ackTimer = time.AfterFunc(ss.srv.cfg.AckDelay, ss.sendAck)
	}
	ss.tunMu.Unlock()
	switch v {
	case gre.Deliver:
	case gre.Old:
		ss.srv.stats.GREDropped.Add(1)
		return
	case gre.FarJump:
		ss.srv.stats.GREFarJump.Add(1)
		if !ss.warnedFar.Swap(true) {
			ss.srv.log.Warn("GRE packet far ahead of the window dropped", "call", ss.callID,
				"peer", ss.peer.String(), "seq", h.Seq, "max_jump", gre.MaxSeqJump)
		}
		return
	default: // an ack-only packet is not a drop
		return
	}
	if len(payload) > 0 {
		ss.start()
		ss.link.Input(payload)
	}
}

// sendAck sends a standalone acknowledgement when no data packet carried it
// in time (RFC 2637 §4.4): the ack timer received arms, AckDelay after it.
func (ss *Session) sendAck() {
	ss.tunMu.Lock()
	defer ss.tunMu.Unlock()
	ss.ackTimer = nil
	ack, ok := ss.tunnel.AckDue(time.Now())
	if !ok {
		return // a data packet carried it meanwhile
	}
	pkt := gre.AppendHeader(ss.ackBuf[:0], ss.tunnel.AckHeader(ack))
	if err := ss.write(pkt); err != nil {
		ss.srv.stats.SendErrors.Add(1)
	}
}

// onIP is step 5 (the link's OnIP): it queues one decrypted inbound IP
// packet for the TUN device. It runs on the receive goroutine of the
// session's shard (the link's Input), which owns the shard's tunOut and
// flushes it after each batch; pkt lies in that goroutine's receive buffer.
func (ss *Session) onIP(pkt []byte) {
	s := ss.srv
	// The peer may only send from its own address (no spoofing into the LAN).
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		s.stats.TUNMalformed.Add(1)
		return
	}
	if !ipv4HeaderSumOK(pkt) {
		// Never coalesced into a good packet's header (the TUN write
		// recomputes that one's): the kernel would drop it anyway.
		s.stats.TUNMalformed.Add(1)
		return
	}
	if src := netip.AddrFrom4([4]byte(pkt[12:16])); src != ss.ip && !ss.routedSource(src) {
		s.stats.PeerWrongSource.Add(1)
		return
	}
	if !ss.rx.Allow(len(pkt)) {
		ss.limitedIn.Add(1) // policed (ratelimit.go)
		return
	}
	if !s.shardOf(ss).queueTUN(pkt) {
		s.stats.TUNMalformed.Add(1)
		return
	}
	ss.pktsIn.Add(1)
	ss.bytesIn.Add(uint64(len(pkt)))
}

// queueTUN queues pkt, which lies in sh.cur, for flushTUN with the
// tun.Headroom octets in front of it (spent headers) and the rest of
// sh.cur as its capacity, which a TUN write with offloads may coalesce the
// flow's next packets into. A packet without that headroom in its own
// buffer (a malformed, short frame; or not in sh.cur at all) is refused:
// never written with less.
func (sh *rxShard) queueTUN(pkt []byte) bool {
	// pkt is a slice of sh.cur that keeps its capacity (the link decrypts
	// in place): where it starts is told by how much capacity it lost.
	start := cap(sh.cur) - cap(pkt)
	if start < tun.Headroom || start+len(pkt) > len(sh.cur) || &sh.cur[start] != &pkt[0] {
		return false
	}
	sh.tunOut = append(sh.tunOut, sh.cur[start-tun.Headroom:start+len(pkt):len(sh.cur)])
	return true
}

// ipv4HeaderSumOK reports whether the IPv4 header of pkt (at least 20
// octets) has a valid checksum (RFC 791).
func ipv4HeaderSumOK(pkt []byte) bool {
	hl := int(pkt[0]&0x0f) * 4
	return hl >= 20 && hl <= len(pkt) && ipv4frag.Checksum(pkt[:hl]) == 0
}

// flushTUN is step 6, the last of the receive path: it writes the IP
// packets the links of shard sh delivered during one GRE batch to TUN.
func (s *Server) flushTUN(sh *rxShard) {
	sh.cur = nil // do not keep the last receive buffer reachable
	if len(sh.tunOut) == 0 {
		return
	}
	n, err := sh.tun.Write(sh.tunOut, tun.Headroom)
	if err != nil {
		s.stats.TUNWriteErrors.Add(uint64(len(sh.tunOut) - max(n, 0)))
		s.log.Debug("tun write", "err", err)
	}
	clear(sh.tunOut) // do not keep the receive buffers reachable
	sh.tunOut = sh.tunOut[:0]
}
