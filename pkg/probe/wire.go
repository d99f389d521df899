// Package probe is ping and traceroute from the box: ICMP echo requests
// (with increasing TTLs for traceroute), replies matched by identifier and
// sequence number, and output lines as iputils ping and traceroute print
// them. The socket is behind Conn (conn_linux.go: a raw ICMP socket, for
// boxd runs as root), so the logic is tested with a fake one.
package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// Kind is what a Reply says.
type Kind int

const (
	EchoReply    Kind = iota + 1 // the target answered
	TimeExceeded                 // a router on the way: TTL exceeded in transit
	Unreachable                  // destination unreachable (Code says why)
)

// Reply is an ICMPv4 message about one of our echo requests: the echo
// reply itself, or an error that quotes the request.
type Reply struct {
	Kind Kind
	Code int // the ICMP code (Unreachable: 0 net, 1 host, 3 port, 13 prohibited, ...)
	// ID and Seq are the echo's identifier and sequence number.
	ID, Seq uint16
	// Dst is where the quoted request was going (errors only).
	Dst netip.Addr
}

// ErrNotReply is returned for a message that is no echo reply and no error
// quoting an echo request: another program's ICMP, our own request seen
// on loopback. Such messages are skipped.
var ErrNotReply = errors.New("probe: not a reply to an echo request")

// ParseReply parses an ICMPv4 message (without its IP header, as a raw
// ICMP socket delivers it). Malformed input is an error, never a panic.
func ParseReply(b []byte) (Reply, error) {
	m, err := icmp.ParseMessage(1, b)
	if err != nil {
		return Reply{}, fmt.Errorf("probe: %w", err)
	}
	var r Reply
	var quoted []byte
	switch body := m.Body.(type) {
	case *icmp.Echo:
		if m.Type != ipv4.ICMPTypeEchoReply {
			return Reply{}, ErrNotReply
		}
		return Reply{Kind: EchoReply, ID: uint16(body.ID), Seq: uint16(body.Seq)}, nil
	case *icmp.TimeExceeded:
		if m.Code != 0 { // 1: fragment reassembly time exceeded, not a hop
			return Reply{}, ErrNotReply
		}
		r.Kind, quoted = TimeExceeded, body.Data
	case *icmp.DstUnreach:
		r.Kind, r.Code, quoted = Unreachable, m.Code, body.Data
	default:
		return Reply{}, ErrNotReply
	}
	id, seq, dst, err := quotedEcho(quoted)
	if err != nil {
		return Reply{}, err
	}
	r.ID, r.Seq, r.Dst = id, seq, dst
	return r, nil
}

// quotedEcho reads the echo request an ICMP error quotes: its IP header
// and at least the first 8 octets of its data (RFC 792).
func quotedEcho(b []byte) (id, seq uint16, dst netip.Addr, err error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return 0, 0, netip.Addr{}, fmt.Errorf("probe: quoted datagram: %w", ErrNotReply)
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || len(b) < hl+8 {
		return 0, 0, netip.Addr{}, fmt.Errorf("probe: quoted datagram too short (%d bytes, header %d): %w", len(b), hl, ErrNotReply)
	}
	icmpPart := b[hl:]
	if b[9] != 1 || icmpPart[0] != byte(ipv4.ICMPTypeEcho) {
		return 0, 0, netip.Addr{}, ErrNotReply
	}
	dst = netip.AddrFrom4([4]byte(b[16:20]))
	return binary.BigEndian.Uint16(icmpPart[4:]), binary.BigEndian.Uint16(icmpPart[6:]), dst, nil
}

// EchoRequest is the ICMPv4 echo request id/seq with payload (the
// checksum filled in).
func EchoRequest(id, seq uint16, payload []byte) []byte {
	m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(id), Seq: int(seq), Data: payload}}
	b, err := m.Marshal(nil)
	if err != nil {
		panic(err) // an echo request always marshals
	}
	return b
}
