package rig

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/qemu/netns"
)

// The storm builds its packets with its own small encoders rather than
// pkg/pptp and pkg/gre: the point is to send what those packages would
// refuse to produce, and an independent encoder cannot share their bugs.
const (
	pptpMagic      = 0x1A2B3C4D // RFC 2637 §2.1 Magic Cookie
	pptpControl    = 1          // PPTP Message Type: Control Message
	ctrlSCCRQ      = 1          // Start-Control-Connection-Request
	ctrlEchoReq    = 5          // Echo-Request
	ctrlOCRQ       = 7          // Outgoing-Call-Request
	ctrlSetLink    = 15         // Set-Link-Info
	lenSCCRQ       = 156        // RFC 2637 §2.1
	lenOCRQ        = 168        // RFC 2637 §2.7
	greProtoPPP    = 0x880B     // RFC 2637 §4.1 Protocol Type
	ipProtoGRE     = 47
	stormDialLimit = 2 * time.Second
)

// StormStats counts what Storm sent.
type StormStats struct {
	TCPConns   int // control connections opened and fed junk
	TCPFailed  int // dials that failed (the server may refuse under load)
	GRELocal   int // GRE packets from the namespace's own address
	GRESpoofed int // GRE packets with the client's address as source
}

func (s StormStats) String() string {
	return fmt.Sprintf("%d control connections (%d dials failed), %d GRE packets from the namespace, %d spoofed from the client",
		s.TCPConns, s.TCPFailed, s.GRELocal, s.GRESpoofed)
}

// pptpHeader builds the 12-byte control header with a chosen length field,
// message type and magic; body follows.
func pptpHeader(length, msgType uint16, magic uint32, ctrlType uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, length)
	b = binary.BigEndian.AppendUint16(b, msgType)
	b = binary.BigEndian.AppendUint32(b, magic)
	b = binary.BigEndian.AppendUint16(b, ctrlType)
	b = binary.BigEndian.AppendUint16(b, 0) // Reserved0
	return append(b, body...)
}

// sccrq is a well-formed Start-Control-Connection-Request (RFC 2637 §2.1).
func sccrq() []byte {
	body := make([]byte, lenSCCRQ-12)
	binary.BigEndian.PutUint16(body[0:], 0x0100) // protocol version 1.0
	binary.BigEndian.PutUint32(body[4:], 3)      // framing: async + sync
	binary.BigEndian.PutUint32(body[8:], 3)      // bearer: analog + digital
	copy(body[16:], "storm")
	return pptpHeader(lenSCCRQ, pptpControl, pptpMagic, ctrlSCCRQ, body)
}

// controlJunk lists the malformed control streams one storm round sends.
func controlJunk(r *rand.Rand) [][]byte {
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	ocrq := make([]byte, lenOCRQ-12)
	binary.BigEndian.PutUint16(ocrq[0:], uint16(r.Uint32()))
	binary.BigEndian.PutUint16(ocrq[24:], 0xFFFF) // phone number length beyond the field
	return [][]byte{
		sccrq()[:6],   // truncated inside the header
		sccrq()[:100], // truncated body
		pptpHeader(4, pptpControl, pptpMagic, ctrlSCCRQ, nil),                                        // length below the header size
		pptpHeader(0, pptpControl, pptpMagic, ctrlSCCRQ, random(20)),                                 // zero length
		pptpHeader(0xFFFF, pptpControl, pptpMagic, ctrlSCCRQ, random(3000)),                          // length beyond any message
		pptpHeader(lenSCCRQ, pptpControl, 0xDEADBEEF, ctrlSCCRQ, random(144)),                        // wrong magic cookie
		pptpHeader(lenSCCRQ, 2, pptpMagic, ctrlSCCRQ, random(144)),                                   // management message type
		pptpHeader(16, pptpControl, pptpMagic, 99, random(4)),                                        // unknown control type
		pptpHeader(1000, pptpControl, pptpMagic, ctrlSCCRQ, random(988)),                             // oversized SCCRQ
		pptpHeader(lenOCRQ, pptpControl, pptpMagic, ctrlOCRQ, ocrq),                                  // call request before SCCRQ
		append(sccrq(), pptpHeader(100, pptpControl, pptpMagic, ctrlOCRQ, random(88))...),            // short OCRQ
		append(sccrq(), pptpHeader(lenOCRQ, pptpControl, pptpMagic, ctrlOCRQ, ocrq)[:lenOCRQ-30]...), // cut OCRQ
		append(sccrq(), pptpHeader(24, pptpControl, pptpMagic, ctrlSetLink, random(12))...),          // unknown call
		append(sccrq(), pptpHeader(12, pptpControl, pptpMagic, ctrlEchoReq, nil)...),                 // echo without id
		append(sccrq(), sccrq()...),                                                                  // SCCRQ twice
		random(1 + r.IntN(600)),
	}
}

// greJunk builds one malformed or misaddressed GRE packet (RFC 2637 §4.1
// layout: flags+version, protocol, payload length, call ID, [seq], [ack]).
func greJunk(r *rand.Rand, callID uint16) []byte {
	// An LCP Echo-Request as payload, so a demultiplexing bug would show up
	// as a reply or a link disturbance.
	payload := []byte{0xff, 0x03, 0xc0, 0x21, 0x09, byte(r.Uint32()), 0x00, 0x08, 1, 2, 3, 4}
	flags, proto, plen := uint16(0x3081), uint16(greProtoPPP), uint16(len(payload)) // K, S, A, version 1
	switch r.IntN(9) {
	case 0: // well formed, unknown call
	case 1:
		flags &^= 0x0007 // version 0: plain RFC 2784 GRE
	case 2:
		proto = 0x0800
	case 3:
		plen = 0xFFFF // payload length beyond the packet
	case 4:
		flags &^= 0x2000 // no key: no call ID
	case 5:
		flags |= 0xC000 // checksum and routing bits, forbidden in PPTP GRE
	case 6:
		flags &^= 0x1000 // ack only, no sequence number
		payload, plen = nil, 0
	case 7:
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b // truncated or random header
	case 8:
		payload, plen = make([]byte, 1500+r.IntN(2000)), 0xFFFF // oversized
	}
	b := binary.BigEndian.AppendUint16(nil, flags)
	b = binary.BigEndian.AppendUint16(b, proto)
	b = binary.BigEndian.AppendUint16(b, plen)
	b = binary.BigEndian.AppendUint16(b, callID)
	if flags&0x1000 != 0 {
		b = binary.BigEndian.AppendUint32(b, r.Uint32())
	}
	if flags&0x0080 != 0 {
		b = binary.BigEndian.AppendUint32(b, r.Uint32())
	}
	return append(b, payload...)
}

// Storm sends rounds of malformed PPTP control streams to target:1723 and
// malformed or misaddressed GRE packets to target, from inside ns: some from
// the namespace's own address, some spoofed from spoofFrom (the real
// client, so they pass a peer-address check and reach the call demux).
// GRE packets never carry a call ID from avoid (the live sessions'), so a
// healthy server must drop every one of them. It is bounded: rounds × 16
// connections and rounds × 200 GRE packets.
func Storm(ctx context.Context, ns *netns.NS, target, spoofFrom netip.Addr, avoid []uint16, rounds int) (StormStats, error) {
	var st StormStats
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var local, raw int
	err := ns.Do(func() (err error) {
		if local, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, ipProtoGRE); err != nil {
			return fmt.Errorf("raw GRE socket: %w", err)
		}
		// IPPROTO_RAW implies IP_HDRINCL: we write the IPv4 header, source included.
		if raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			unix.Close(local)
			return fmt.Errorf("raw IP socket: %w", err)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("rig: storm: %w", err)
	}
	defer unix.Close(local)
	defer unix.Close(raw)
	dst := &unix.SockaddrInet4{Addr: target.As4()}
	skip := map[uint16]bool{}
	for _, id := range avoid {
		skip[id] = true
	}
	callID := func() uint16 {
		for {
			if id := uint16(r.Uint32()); !skip[id] {
				return id
			}
		}
	}
	for round := 0; round < rounds; round++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		for _, junk := range controlJunk(r) {
			ok, err := sendControl(ns, netip.AddrPortFrom(target, 1723), junk)
			if err != nil {
				return st, err
			}
			if ok {
				st.TCPConns++
			} else {
				st.TCPFailed++
			}
		}
		for i := 0; i < 100; i++ {
			if err := unix.Sendto(local, greJunk(r, callID()), 0, dst); err != nil {
				return st, fmt.Errorf("rig: storm: send GRE: %w", err)
			}
			st.GRELocal++
			pkt := ipv4GRE(spoofFrom, target, greJunk(r, callID()))
			if err := unix.Sendto(raw, pkt, 0, dst); err != nil {
				return st, fmt.Errorf("rig: storm: send spoofed GRE: %w", err)
			}
			st.GRESpoofed++
		}
	}
	return st, nil
}

// sendControl dials addr from inside ns, writes junk, reads whatever the
// server answers for a moment, and closes. ok is false when the dial failed.
func sendControl(ns *netns.NS, addr netip.AddrPort, junk []byte) (ok bool, err error) {
	var c net.Conn
	derr := ns.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp4", addr.String(), stormDialLimit)
		return err
	})
	if derr != nil {
		return false, nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	c.Write(junk)
	io.Copy(io.Discard, c) // until the server closes or the deadline
	return true, nil
}

// ipv4GRE wraps payload in an IPv4 header (RFC 791) for an IP_HDRINCL
// socket; the kernel fills in the checksum and, when zero, the ID.
func ipv4GRE(src, dst netip.Addr, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45 // version 4, IHL 5
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8] = 64 // TTL
	h[9] = ipProtoGRE
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, payload...)
}
