package session

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// The receive path, GRE to TUN. One goroutine, receiveGRE, takes a batch of
// packets through every stage; the functions below follow a packet:
//
//  1. receiveGRE: read a batch of GRE packets from the raw socket (proto 47).
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
//  6. flushTUN: one TUN write for the whole batch, before the next read
//     reuses the buffers.
//
// Nothing is copied or allocated per packet: the IP packets written to TUN
// lie in the GRE receive buffers.

// receiveGRE is step 1: every call's GRE packets arrive on the one raw
// socket and are demultiplexed by the key's call ID. Links decrypt in place
// (ppp.Config.InputInPlace), so the IP packets their OnIP collects in tunOut
// lie in msgs' buffers; they go to TUN in one write per GRE batch, before
// the next read reuses the buffers.
func (s *Server) receiveGRE() error {
	msgs := make([]gre.Message, batch)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 65536)
	}
	for {
		n, err := s.gre.ReadBatch(msgs)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range msgs[:n] {
			s.handleGRE(msgs[i].Buf[:msgs[i].N], msgs[i].Addr)
		}
		s.flushTUN()
	}
}

// handleGRE is step 2: the packet goes to the session of its key's call ID
// if it comes from that session's peer.
func (s *Server) handleGRE(b []byte, from netip.Addr) {
	h, payload, err := gre.Parse(b)
	if err != nil {
		s.stats.GREMalformed.Add(1)
		return
	}
	ss := s.callByID(h.CallID)
	if ss == nil {
		s.stats.GREUnknownCall.Add(1)
		return
	}
	if ss.peer != from.Unmap() {
		s.stats.GREWrongPeer.Add(1)
		return
	}
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
// packet for the TUN device. It runs on the GRE receive goroutine (the
// links' Input), which owns tunOut and flushes it after each batch; pkt
// lies in that goroutine's receive buffer.
func (ss *Session) onIP(pkt []byte) {
	s := ss.srv
	// The peer may only send from its own address (no spoofing into the LAN).
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
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
	ss.pktsIn.Add(1)
	ss.bytesIn.Add(uint64(len(pkt)))
	s.tunOut = append(s.tunOut, pkt)
}

// flushTUN is step 6, the last of the receive path: it writes the IP
// packets the links delivered during one GRE batch to TUN.
func (s *Server) flushTUN() {
	if len(s.tunOut) == 0 {
		return
	}
	n, err := s.tun.Write(s.tunOut, 0)
	if err != nil {
		s.stats.TUNWriteErrors.Add(uint64(len(s.tunOut) - max(n, 0)))
		s.log.Debug("tun write", "err", err)
	}
	clear(s.tunOut) // do not keep the receive buffers reachable
	s.tunOut = s.tunOut[:0]
}
