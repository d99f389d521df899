package ppp

import (
	"errors"
	"fmt"
)

// Proto is a PPP protocol number (RFC 1661 §2, assigned numbers in RFC 1700).
type Proto uint16

// Protocol numbers this package speaks or names in its logs.
const (
	ProtoIPv4   Proto = 0x0021 // RFC 1332
	ProtoVJC    Proto = 0x002d // Van Jacobson compressed TCP/IP (never negotiated here)
	ProtoVJUC   Proto = 0x002f
	ProtoIPv6   Proto = 0x0057
	ProtoCompDG Proto = 0x00fd // compressed datagram: MPPE (RFC 1962 §4, RFC 3078 §3)
	ProtoIPCP   Proto = 0x8021 // RFC 1332
	ProtoIPV6CP Proto = 0x8057
	ProtoCCP    Proto = 0x80fd // RFC 1962
	ProtoLCP    Proto = 0xc021 // RFC 1661
	ProtoPAP    Proto = 0xc023 // RFC 1334
	ProtoLQR    Proto = 0xc025
	ProtoCHAP   Proto = 0xc223 // RFC 1994, RFC 2433, RFC 2759
)

func (p Proto) String() string {
	switch p {
	case ProtoIPv4:
		return "IP"
	case ProtoVJC:
		return "VJC"
	case ProtoVJUC:
		return "VJUC"
	case ProtoIPv6:
		return "IPv6"
	case ProtoCompDG:
		return "CompData"
	case ProtoIPCP:
		return "IPCP"
	case ProtoIPV6CP:
		return "IPV6CP"
	case ProtoCCP:
		return "CCP"
	case ProtoLCP:
		return "LCP"
	case ProtoPAP:
		return "PAP"
	case ProtoLQR:
		return "LQR"
	case ProtoCHAP:
		return "CHAP"
	}
	return fmt.Sprintf("0x%04x", uint16(p))
}

// HDLC address and control octets (RFC 1662 §3.1); PPTP carries them unless
// Address-and-Control-Field-Compression is negotiated, but no flags or FCS.
const (
	hdlcAddress = 0xff
	hdlcControl = 0x03
)

// ErrShortFrame and friends are wrapped with context by DecodeFrame.
var (
	ErrShortFrame = errors.New("short frame")
	ErrBadProto   = errors.New("bad protocol field")
)

// DecodeFrame splits one PPP frame (as PPTP's GRE payload carries it: no
// flags, no FCS) into its protocol number and information field. It accepts
// frames with and without the FF 03 address/control prefix (RFC 1662 §3.2:
// a receiver that acked ACFC must still accept it) and with a one-octet
// compressed protocol field (RFC 1661 §6.5: an odd first octet ends the field).
// info aliases b.
func DecodeFrame(b []byte) (proto Proto, info []byte, err error) {
	if len(b) >= 2 && b[0] == hdlcAddress && b[1] == hdlcControl {
		b = b[2:]
	}
	if len(b) == 0 {
		return 0, nil, fmt.Errorf("ppp: frame: %w: no protocol field", ErrShortFrame)
	}
	// RFC 1661 §2: protocol numbers have the least significant bit of the
	// most significant octet clear and of the least significant octet set.
	if b[0]&1 == 1 {
		return Proto(b[0]), b[1:], nil
	}
	if len(b) < 2 {
		return 0, nil, fmt.Errorf("ppp: frame: %w: protocol field truncated", ErrShortFrame)
	}
	if b[1]&1 == 0 {
		return 0, nil, fmt.Errorf("ppp: frame: %w 0x%02x%02x", ErrBadProto, b[0], b[1])
	}
	return Proto(b[0])<<8 | Proto(b[1]), b[2:], nil
}

// frameHeader appends the address/control and protocol fields. acfc drops
// FF 03 (RFC 1661 §6.6) except for LCP, which must always be sent
// uncompressed; pfc sends protocols below 0x100 as one octet (RFC 1661 §6.5),
// again never for LCP.
func frameHeader(dst []byte, proto Proto, acfc, pfc bool) []byte {
	if proto == ProtoLCP {
		acfc, pfc = false, false
	}
	if !acfc {
		dst = append(dst, hdlcAddress, hdlcControl)
	}
	// 0x00FF compressed would read as the address octet (RFC 1661 §6.5
	// compresses only what stays unambiguous), so it is never compressed.
	if pfc && proto < 0x100 && proto != 0xff {
		return append(dst, byte(proto))
	}
	return append(dst, byte(proto>>8), byte(proto))
}

// AppendFrame appends a PPP frame carrying info under proto to dst.
func AppendFrame(dst []byte, proto Proto, info []byte, acfc, pfc bool) []byte {
	return append(frameHeader(dst, proto, acfc, pfc), info...)
}
