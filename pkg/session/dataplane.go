package session

import (
	"errors"
	"net"
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// batch is how many packets one read moves.
const batch = 32

// tunHeadroom is the room readTUN leaves in front of each packet, so that
// the PPP and MPPE headers (ppp.DataHeadroom) and the GRE header
// (gre.MaxHeaderLen) are written in place: the packet is encrypted where
// the TUN read put it and the GRE write sends from that same buffer.
const tunHeadroom = gre.MaxHeaderLen + ppp.DataHeadroom

// receiveGRE is stage 1 of the packet path: every call's GRE packets arrive
// on the one raw socket and are demultiplexed by the key's call ID. Links
// decrypt in place (ppp.Config.InputInPlace), so the IP packets their OnIP
// collects in tunOut lie in msgs' buffers; they go to TUN in one write per
// GRE batch, before the next read reuses the buffers.
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

// flushTUN is the last stage of the receive path: it writes the IP packets
// the links delivered during one GRE batch to TUN.
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

// readTUN is stage 1 of the send path: packets the kernel routed to the pool
// go to the session that holds their destination address.
func (s *Server) readTUN() error {
	n := s.tun.BatchSize()
	if n > batch {
		n = batch
	}
	bufs := make([][]byte, n)
	sizes := make([]int, n)
	for i := range bufs {
		bufs[i] = make([]byte, tunHeadroom+65536)
	}
	for {
		got, err := s.tun.Read(bufs, sizes, tunHeadroom)
		if err != nil {
			if errors.Is(err, tun.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range got {
			s.routeToSession(bufs[i][:tunHeadroom+sizes[i]], tunHeadroom)
		}
	}
}

// routeToSession is stage 2 of the send path: the IP packet buf[off:] goes
// to the link of the session that holds its destination, which encrypts it
// in place and hands the frame to sendFrame with the headroom in front. A
// packet larger than the peer's MRU is fragmented or answered with ICMP
// "fragmentation needed" instead (tooBig).
func (s *Server) routeToSession(buf []byte, off int) {
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
	if mru := ss.link.PeerMRU(); mru > 0 && n > mru {
		// Larger than this client takes, though within the TUN MTU.
		s.tooBig(ss, pkt, mru)
		return
	}
	if err := ss.link.WriteIPAt(buf, off); err != nil {
		if mru := ss.link.PeerMRU(); errors.Is(err, ppp.ErrTooBig) && mru > 0 {
			// The link came up between PeerMRU and WriteIPAt; the
			// packet is untouched (the size is checked first).
			s.tooBig(ss, pkt, mru)
			return
		}
		// Not up yet (address assigned, IPCP/CCP still negotiating) or gone.
		s.stats.TUNNoSession.Add(1)
		return
	}
	ss.pktsOut.Add(1)
	ss.bytesOut.Add(uint64(n))
}
