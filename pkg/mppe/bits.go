package mppe

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// CCP option carrying MPPE/MPPC negotiation (RFC 3078 §2.1): type 18,
// length 6, then 4 octets of Supported Bits.
const (
	OptionType = 18
	OptionLen  = 6
)

// Bits is the 32-bit Supported Bits field of the CCP MPPE option, as the
// four octets read in network byte order (RFC 3078 §2.1):
//
//	octet 0: .......H    octet 3: MSLD...C
type Bits uint32

const (
	BitC Bits = 0x00000001 // MPPC compression (RFC 2118); not supported here
	BitD Bits = 0x00000010 // obsolete (was 56-bit in a draft)
	BitL Bits = 0x00000020 // 40-bit keys
	BitS Bits = 0x00000040 // 128-bit keys
	BitM Bits = 0x00000080 // 56-bit keys
	BitH Bits = 0x01000000 // stateless mode: new key every packet

	knownBits = BitC | BitD | BitL | BitS | BitM | BitH
)

// ParseBits decodes the 4-octet Supported Bits of a CCP MPPE option.
func ParseBits(b []byte) (Bits, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("mppe: ccp option: bad supported-bits length %d, want 4", len(b))
	}
	return Bits(binary.BigEndian.Uint32(b)), nil
}

// Append appends the 4 octets of b in network byte order.
func (b Bits) Append(dst []byte) []byte { return binary.BigEndian.AppendUint32(dst, uint32(b)) }

// String prints the bits as pppd logs the option: "<mppe +H -M +S -L -D -C>",
// with " +U" before the ">" when bits outside RFC 3078's set are present.
func (b Bits) String() string {
	var s strings.Builder
	s.WriteString("<mppe")
	for _, f := range [...]struct {
		bit  Bits
		name byte
	}{{BitH, 'H'}, {BitM, 'M'}, {BitS, 'S'}, {BitL, 'L'}, {BitD, 'D'}, {BitC, 'C'}} {
		s.WriteByte(' ')
		if b&f.bit != 0 {
			s.WriteByte('+')
		} else {
			s.WriteByte('-')
		}
		s.WriteByte(f.name)
	}
	if b&^knownBits != 0 {
		s.WriteString(" +U")
	}
	s.WriteByte('>')
	return s.String()
}

// Strongest returns the strongest key strength offered in b (128, 56, 40),
// or 0 when b offers none.
func (b Bits) Strongest() int {
	switch {
	case b&BitS != 0:
		return 128
	case b&BitM != 0:
		return 56
	case b&BitL != 0:
		return 40
	}
	return 0
}

// StrengthBit returns the bit that offers a key strength (128 -> S,
// 56 -> M, 40 -> L), or 0 for any other value.
func StrengthBit(bits int) Bits {
	switch bits {
	case 128:
		return BitS
	case 56:
		return BitM
	case 40:
		return BitL
	}
	return 0
}
