package ppp

import (
	"fmt"
	"sync/atomic"
)

// DropReason classifies discarded packets in Stats.
type DropReason int

const (
	DropMalformed   DropReason = iota // undecodable frame or packet
	DropNotUp                         // data before the network phase opened, or after it closed
	DropUnencrypted                   // plain IP while MPPE is in force or required
	DropDecrypt                       // MPPE packet that could not be decrypted (lost sync, bad header)
	DropProtocol                      // an inner protocol other than IPv4
	DropTooBig                        // larger than the peer's MRU
	NumDropReasons
)

func (r DropReason) String() string {
	switch r {
	case DropMalformed:
		return "malformed"
	case DropNotUp:
		return "not-up"
	case DropUnencrypted:
		return "unencrypted"
	case DropDecrypt:
		return "decrypt"
	case DropProtocol:
		return "protocol"
	case DropTooBig:
		return "too-big"
	}
	return fmt.Sprintf("DropReason(%d)", int(r))
}

// Stats counts IP packets (PacketsIn/Out, BytesIn/Out are IP bytes),
// control packets and drops.
type Stats struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
	ControlIn, ControlOut uint64
	Drops                 [NumDropReasons]uint64
}

type stats struct {
	pktIn, pktOut, bytesIn, bytesOut atomic.Uint64
	ctlIn, ctlOut                    atomic.Uint64
	drops                            [NumDropReasons]atomic.Uint64
}

func (s *stats) drop(r DropReason) { s.drops[r].Add(1) }

// Stats returns a snapshot of the link's counters.
func (l *Link) Stats() Stats {
	s := &l.stat
	out := Stats{
		PacketsIn: s.pktIn.Load(), PacketsOut: s.pktOut.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		ControlIn: s.ctlIn.Load(), ControlOut: s.ctlOut.Load(),
	}
	for i := range s.drops {
		out.Drops[i] = s.drops[i].Load()
	}
	return out
}
