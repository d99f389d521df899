package session

import (
	"errors"
	"net"
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// batch is how many packets one read moves.
const batch = 32

// receiveGRE is stage 1 of the packet path: every call's GRE packets arrive
// on the one raw socket and are demultiplexed by the key's call ID.
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
		bufs[i] = make([]byte, 65536)
	}
	for {
		got, err := s.tun.Read(bufs, sizes, 0)
		if err != nil {
			if errors.Is(err, tun.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range got {
			s.routeToSession(bufs[i][:sizes[i]])
		}
	}
}

func (s *Server) routeToSession(pkt []byte) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		s.stats.TUNMalformed.Add(1)
		return
	}
	ss := s.sessionByIP(netip.AddrFrom4([4]byte(pkt[16:20])))
	if ss == nil {
		s.stats.TUNNoSession.Add(1)
		return
	}
	if err := ss.link.WriteIP(pkt); err != nil {
		// Not up yet (address assigned, IPCP/CCP still negotiating) or gone.
		s.stats.TUNNoSession.Add(1)
		return
	}
	ss.pktsOut.Add(1)
	ss.bytesOut.Add(uint64(len(pkt)))
}
