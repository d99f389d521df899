package session

import (
	"errors"
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
