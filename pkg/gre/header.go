// Package gre implements the enhanced GRE encapsulation PPTP uses for its
// data channel (RFC 2637 §4): the header codec, the per-call sequence and
// acknowledgement bookkeeping (Tunnel), and batch-shaped packet I/O (Conn) on
// a raw IPv4 socket for protocol 47, with an in-memory fake for tests.
//
// # Header
//
// RFC 2637 §4.1 modifies RFC 1701 GRE: version 1, protocol type 0x880B (PPP),
// the Key field split into Payload Length (high 16 bits) and Call ID (low 16
// bits), the Key bit always set, an optional Sequence Number (S bit) and an
// optional Acknowledgment Number (A bit, in the otherwise reserved version
// byte). All fields are in network byte order.
//
//	 0                   1                   2                   3
//	|C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
//	|    Key (HW) Payload Length    |       Key (LW) Call ID        |
//	|                  Sequence Number (Optional)                   |
//	|               Acknowledgment Number (Optional)                |
package gre

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire constants of the enhanced GRE header (RFC 2637 §4.1). The flag
// constants are masks over the first 16 bits of the header read big-endian.
const (
	// ProtocolPPP is the GRE protocol type PPTP carries: PPP (RFC 2637 §4.1).
	ProtocolPPP uint16 = 0x880B
	// Version is the enhanced GRE version number (RFC 2637 §4.1 "Ver").
	Version = 1

	FlagChecksum   uint16 = 0x8000 // C: checksum present; must be 0
	FlagRouting    uint16 = 0x4000 // R: routing present; must be 0
	FlagKey        uint16 = 0x2000 // K: key present; must be 1
	FlagSeq        uint16 = 0x1000 // S: sequence number present (data packet)
	FlagStrictSrc  uint16 = 0x0800 // s: strict source route; must be 0
	MaskRecursion  uint16 = 0x0700 // Recur: recursion control; must be 0
	FlagAck        uint16 = 0x0080 // A: acknowledgment number present
	MaskReserved   uint16 = 0x0078 // Flags: must be 0; ignored on receive like Linux does
	MaskVersion    uint16 = 0x0007 // Ver: must be 1
	mustBeZeroMask        = FlagChecksum | FlagRouting | FlagStrictSrc | MaskRecursion

	// MinHeaderLen is the header without sequence and acknowledgment numbers.
	MinHeaderLen = 8
	// MaxHeaderLen is the header with both optional fields; reserve this much
	// headroom in front of a PPP frame to write the header in place.
	MaxHeaderLen = 16
)

// Errors returned by Parse. Each names a distinct reason a packet is not
// PPTP enhanced GRE, so the receive path can count them separately.
var (
	ErrShort          = errors.New("gre: packet shorter than its header")
	ErrVersion        = errors.New("gre: not version 1 (enhanced GRE)")
	ErrProtocol       = errors.New("gre: protocol type is not PPP (0x880B)")
	ErrNoKey          = errors.New("gre: key bit clear")
	ErrFlags          = errors.New("gre: checksum, routing, strict source route or recursion set")
	ErrTruncated      = errors.New("gre: payload shorter than payload length")
	ErrPayloadNoSeq   = errors.New("gre: payload without sequence number")
	ErrHeaderTooSmall = errors.New("gre: buffer too small for header")
)

// Header is an enhanced GRE header (RFC 2637 §4.1).
type Header struct {
	// Flags is the first 16-bit word (flags and version) as received. Parse
	// fills it; PutHeader derives K, S, A and the version from the other
	// fields and copies only the reserved Flags bits from here (zero in any
	// header we build), so a parsed header re-encodes to the same bytes.
	Flags uint16
	// PayloadLen is the length of the PPP frame after the header (Key HW).
	PayloadLen uint16
	// CallID is the receiver's call ID: the peer's ID on packets we send,
	// our ID on packets we receive (Key LW).
	CallID uint16
	Seq    uint32
	Ack    uint32
	HasSeq bool
	HasAck bool
}

// Len is the encoded length of h.
func (h Header) Len() int {
	n := MinHeaderLen
	if h.HasSeq {
		n += 4
	}
	if h.HasAck {
		n += 4
	}
	return n
}

// String renders h for logs, in the shape tcpdump uses for PPTP GRE.
func (h Header) String() string {
	s := fmt.Sprintf("call %d len %d", h.CallID, h.PayloadLen)
	if h.HasSeq {
		s += fmt.Sprintf(" seq %d", h.Seq)
	}
	if h.HasAck {
		s += fmt.Sprintf(" ack %d", h.Ack)
	}
	return s
}

// Parse decodes the enhanced GRE header at the start of b and returns it
// with the payload (the PPP frame, PayloadLen bytes; trailing bytes such as
// link padding are dropped). The payload aliases b.
func Parse(b []byte) (Header, []byte, error) {
	var h Header
	if len(b) < MinHeaderLen {
		return h, nil, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	h.Flags = binary.BigEndian.Uint16(b[0:2])
	if v := h.Flags & MaskVersion; v != Version {
		return h, nil, fmt.Errorf("%w: version %d", ErrVersion, v)
	}
	if p := binary.BigEndian.Uint16(b[2:4]); p != ProtocolPPP {
		return h, nil, fmt.Errorf("%w: 0x%04x", ErrProtocol, p)
	}
	if h.Flags&FlagKey == 0 {
		return h, nil, ErrNoKey
	}
	if h.Flags&mustBeZeroMask != 0 {
		return h, nil, fmt.Errorf("%w: flags 0x%04x", ErrFlags, h.Flags)
	}
	h.HasSeq = h.Flags&FlagSeq != 0
	h.HasAck = h.Flags&FlagAck != 0
	h.PayloadLen = binary.BigEndian.Uint16(b[4:6])
	h.CallID = binary.BigEndian.Uint16(b[6:8])
	hl := h.Len()
	if len(b) < hl {
		return h, nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrShort, len(b), hl)
	}
	off := MinHeaderLen
	// The acknowledgment number follows the sequence number when both are
	// present and takes its place when S is clear (RFC 2637 §4.1).
	if h.HasSeq {
		h.Seq = binary.BigEndian.Uint32(b[off:])
		off += 4
	}
	if h.HasAck {
		h.Ack = binary.BigEndian.Uint32(b[off:])
	}
	// S is set exactly when a payload is present (RFC 2637 §4.1 "S").
	if !h.HasSeq && h.PayloadLen != 0 {
		return h, nil, fmt.Errorf("%w: payload length %d", ErrPayloadNoSeq, h.PayloadLen)
	}
	end := hl + int(h.PayloadLen)
	if len(b) < end {
		return h, nil, fmt.Errorf("%w: have %d, payload length %d", ErrTruncated, len(b)-hl, h.PayloadLen)
	}
	return h, b[hl:end], nil
}

// flags computes the first header word for h.
func (h Header) flags() uint16 {
	f := FlagKey | Version | h.Flags&MaskReserved
	if h.HasSeq {
		f |= FlagSeq
	}
	if h.HasAck {
		f |= FlagAck
	}
	return f
}

// PutHeader writes h into b[:h.Len()] and returns the number of bytes
// written. It is the in-place form: reserve MaxHeaderLen bytes of headroom in
// front of the PPP frame and write the header right before it.
func PutHeader(b []byte, h Header) (int, error) {
	n := h.Len()
	if len(b) < n {
		return 0, fmt.Errorf("%w: %d < %d", ErrHeaderTooSmall, len(b), n)
	}
	binary.BigEndian.PutUint16(b[0:2], h.flags())
	binary.BigEndian.PutUint16(b[2:4], ProtocolPPP)
	binary.BigEndian.PutUint16(b[4:6], h.PayloadLen)
	binary.BigEndian.PutUint16(b[6:8], h.CallID)
	off := MinHeaderLen
	if h.HasSeq {
		binary.BigEndian.PutUint32(b[off:], h.Seq)
		off += 4
	}
	if h.HasAck {
		binary.BigEndian.PutUint32(b[off:], h.Ack)
	}
	return n, nil
}

// AppendHeader appends the encoded h to b.
func AppendHeader(b []byte, h Header) []byte {
	var tmp [MaxHeaderLen]byte
	n, _ := PutHeader(tmp[:], h) // tmp always fits
	return append(b, tmp[:n]...)
}

// Encapsulate writes h in front of the payload that starts at buf[off:] and
// returns the whole packet, buf[off-h.Len() : off+int(h.PayloadLen)]. The
// caller keeps at least MaxHeaderLen bytes of headroom before off.
func Encapsulate(buf []byte, off int, h Header) ([]byte, error) {
	hl := h.Len()
	if off < hl || off+int(h.PayloadLen) > len(buf) {
		return nil, fmt.Errorf("%w: headroom %d, need %d", ErrHeaderTooSmall, off, hl)
	}
	if _, err := PutHeader(buf[off-hl:off], h); err != nil {
		return nil, err
	}
	return buf[off-hl : off+int(h.PayloadLen)], nil
}
