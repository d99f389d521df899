package mschap

import (
	"fmt"
)

// ResponseLen is the length of the Value field of an MS-CHAP Response packet,
// in both versions (RFC 2433 §3, RFC 2759 §4).
const ResponseLen = 49

// v2ReservedLen is the run of reserved zero octets in an MS-CHAPv2 response value.
const v2ReservedLen = 8

// Response is the 49-octet Value of an MS-CHAPv2 Response packet
// (RFC 2759 §4):
//
//	PeerChallenge[16] | Reserved[8] (zero) | NT-Response[24] | Flags[1]
type Response struct {
	PeerChallenge [16]byte
	NTResponse    [24]byte
	// Flags is reserved and sent as zero; kept as received.
	Flags uint8
}

// ParseResponse decodes an MS-CHAPv2 response value. The reserved octets
// must be zero, as RFC 2759 §4 says; peers that set them are not MS-CHAPv2
// peers we know how to talk to.
func ParseResponse(v []byte) (Response, error) {
	var r Response
	if len(v) != ResponseLen {
		return r, fmt.Errorf("mschapv2: response: bad length %d, want %d", len(v), ResponseLen)
	}
	for i, b := range v[16 : 16+v2ReservedLen] {
		if b != 0 {
			return r, fmt.Errorf("mschapv2: response: reserved octet %d is 0x%02x, want 0", i, b)
		}
	}
	copy(r.PeerChallenge[:], v[0:16])
	copy(r.NTResponse[:], v[24:48])
	r.Flags = v[48]
	return r, nil
}

// Append appends the 49-octet wire form of r to b.
func (r Response) Append(b []byte) []byte {
	b = append(b, r.PeerChallenge[:]...)
	b = append(b, make([]byte, v2ReservedLen)...)
	b = append(b, r.NTResponse[:]...)
	return append(b, r.Flags)
}

// Marshal returns the 49-octet wire form of r.
func (r Response) Marshal() []byte { return r.Append(make([]byte, 0, ResponseLen)) }

// ResponseV1 is the 49-octet Value of an MS-CHAPv1 Response packet
// (RFC 2433 §3):
//
//	LAN-Manager-Response[24] | NT-Response[24] | Use-NT flag[1]
type ResponseV1 struct {
	LMResponse [24]byte
	NTResponse [24]byte
	// UseNT is the flag octet: 1 means the NT-Response is valid and is the one
	// to check; 0 means only the LAN Manager response is (which we refuse).
	UseNT bool
}

// ParseResponseV1 decodes an MS-CHAPv1 response value. The flag octet must
// be 0 or 1 (RFC 2433 §3).
func ParseResponseV1(v []byte) (ResponseV1, error) {
	var r ResponseV1
	if len(v) != ResponseLen {
		return r, fmt.Errorf("mschap: response: bad length %d, want %d", len(v), ResponseLen)
	}
	switch v[48] {
	case 0:
	case 1:
		r.UseNT = true
	default:
		return r, fmt.Errorf("mschap: response: bad use-nt flag 0x%02x", v[48])
	}
	copy(r.LMResponse[:], v[0:24])
	copy(r.NTResponse[:], v[24:48])
	return r, nil
}

// Append appends the 49-octet wire form of r to b.
func (r ResponseV1) Append(b []byte) []byte {
	b = append(b, r.LMResponse[:]...)
	b = append(b, r.NTResponse[:]...)
	var flag byte
	if r.UseNT {
		flag = 1
	}
	return append(b, flag)
}

// Marshal returns the 49-octet wire form of r.
func (r ResponseV1) Marshal() []byte { return r.Append(make([]byte, 0, ResponseLen)) }
