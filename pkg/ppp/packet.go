package ppp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Code is the code octet of an LCP-style control packet (RFC 1661 §5);
// CCP adds 14 and 15 (RFC 1962 §2.2).
type Code uint8

// Control packet codes.
const (
	CodeConfReq   Code = 1
	CodeConfAck   Code = 2
	CodeConfNak   Code = 3
	CodeConfRej   Code = 4
	CodeTermReq   Code = 5
	CodeTermAck   Code = 6
	CodeCodeRej   Code = 7
	CodeProtRej   Code = 8  // LCP only
	CodeEchoReq   Code = 9  // LCP only
	CodeEchoRep   Code = 10 // LCP only
	CodeDiscReq   Code = 11 // LCP only
	CodeIdent     Code = 12 // LCP only, RFC 1570 §2.1 (Windows sends it)
	CodeTimeRem   Code = 13 // LCP only, RFC 1570 §2.2
	CodeResetReq  Code = 14 // CCP only
	CodeResetAck  Code = 15 // CCP only
	maxCommonCode      = CodeCodeRej
)

// String gives pppd's spelling, which operators grep for.
func (c Code) String() string {
	switch c {
	case CodeConfReq:
		return "ConfReq"
	case CodeConfAck:
		return "ConfAck"
	case CodeConfNak:
		return "ConfNak"
	case CodeConfRej:
		return "ConfRej"
	case CodeTermReq:
		return "TermReq"
	case CodeTermAck:
		return "TermAck"
	case CodeCodeRej:
		return "CodeRej"
	case CodeProtRej:
		return "ProtRej"
	case CodeEchoReq:
		return "EchoReq"
	case CodeEchoRep:
		return "EchoRep"
	case CodeDiscReq:
		return "DiscReq"
	case CodeIdent:
		return "Ident"
	case CodeTimeRem:
		return "TimeRem"
	case CodeResetReq:
		return "ResetReq"
	case CodeResetAck:
		return "ResetAck"
	}
	return fmt.Sprintf("code=0x%x", uint8(c))
}

// Packet is one control packet: LCP, IPCP, CCP (RFC 1661 §5), and with
// their own code meanings PAP (RFC 1334 §2.2) and CHAP (RFC 1994 §4).
type Packet struct {
	Code Code
	ID   uint8
	Data []byte // aliases the parsed buffer
}

const packetHeaderLen = 4

// ErrMalformed is wrapped by every parser in this package.
var ErrMalformed = errors.New("malformed")

// ParsePacket parses a control packet. Octets beyond Length are padding and
// are ignored (RFC 1661 §5); a Length beyond the buffer is an error.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < packetHeaderLen {
		return Packet{}, fmt.Errorf("ppp: packet: %w: %d bytes, need %d", ErrMalformed, len(b), packetHeaderLen)
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < packetHeaderLen || n > len(b) {
		return Packet{}, fmt.Errorf("ppp: packet: %w: bad length %d in %d bytes", ErrMalformed, n, len(b))
	}
	return Packet{Code: Code(b[0]), ID: b[1], Data: b[packetHeaderLen:n]}, nil
}

// Append appends the wire form of p to dst.
func (p Packet) Append(dst []byte) []byte {
	n := packetHeaderLen + len(p.Data)
	dst = append(dst, byte(p.Code), p.ID, byte(n>>8), byte(n))
	return append(dst, p.Data...)
}

// Option is one configuration option (RFC 1661 §6): type, length, value.
type Option struct {
	Type  uint8
	Value []byte // aliases the parsed buffer
}

// ParseOptions parses the option list of a Configure-Request/Ack/Nak/Reject.
func ParseOptions(b []byte) ([]Option, error) {
	var opts []Option
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("ppp: options: %w: %d trailing bytes", ErrMalformed, len(b))
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			return nil, fmt.Errorf("ppp: options: type %d: %w: bad length %d in %d bytes", b[0], ErrMalformed, n, len(b))
		}
		opts = append(opts, Option{Type: b[0], Value: b[2:n:n]})
		b = b[n:]
	}
	return opts, nil
}

// AppendOptions appends the wire form of opts to dst. Values longer than
// 253 bytes cannot be encoded and are a programming error.
func AppendOptions(dst []byte, opts []Option) []byte {
	for _, o := range opts {
		if len(o.Value) > 253 {
			panic(fmt.Sprintf("ppp: option %d: value of %d bytes", o.Type, len(o.Value)))
		}
		dst = append(dst, o.Type, byte(2+len(o.Value)))
		dst = append(dst, o.Value...)
	}
	return dst
}

// Constructors for the option shapes the protocols use.

func optU16(t uint8, v uint16) Option { return Option{t, binary.BigEndian.AppendUint16(nil, v)} }
func optU32(t uint8, v uint32) Option { return Option{t, binary.BigEndian.AppendUint32(nil, v)} }
func optFlag(t uint8) Option          { return Option{Type: t} }

// printable makes peer-supplied text safe for a log line.
func printable(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '.'
		}
		return r
	}, string(b))
}
