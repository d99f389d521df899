package mppe

import "encoding/binary"

// rc4 is the RC4 stream cipher with a state that can be re-keyed in place.
// crypto/rc4 allocates a new Cipher for every key, and stateless MPPE
// re-keys twice per packet (RFC 3078 §7.3), so the hot path would allocate
// 2 KiB per packet; this is the same algorithm without the allocation.
// rc4_test.go checks it against crypto/rc4.
//
// Speed (stateless MPPE runs two key schedules and a packet of keystream
// per packet): both loops are bound by the chain through j, where the next
// j needs S[i+1] as it stands after this step's swap. Written plainly, that
// load waits on the swap's stores; here S[i+1] is loaded before them and
// replaced by the value just stored when j == i+1, the only way the swap
// can change it (i+1 != i). The branch is taken once in 256 steps on
// average, so it predicts well and the chain shrinks to one addition. The
// keystream is XORed eight octets at a time. Measured on amd64 and kept
// out: a state of octets (about 10% slower than words in both loops),
// addressing S[i] from a per-block base to save the index arithmetic
// (under 5%, within the noise). BenchmarkKeySchedule and BenchmarkKeyStream
// compare with the plain loops kept in rc4ref_test.go.
type rc4 struct {
	s    [256]uint32
	i, j uint8
}

// identity is the state every key schedule starts from.
var identity = func() (s [256]uint32) {
	for i := range s {
		s[i] = uint32(i)
	}
	return s
}()

// swap exchanges S[i], which is x, and S[j], and returns the old S[j] and
// S[i+1] as it stands after the exchange.
func swap(s *[256]uint32, i, j uint8, x uint32) (y, next uint32) {
	y = s[j]
	next = s[i+1] // before the stores: see the type's comment
	s[i] = y
	s[j] = x
	if j == i+1 {
		next = x
	}
	return y, next
}

// ksaStep is step i of the key schedule: j += S[i] + k, swap S[i] and S[j].
// x is S[i] on entry; it returns the new j and S[i+1] after the swap.
func ksaStep(s *[256]uint32, i, j uint8, x uint32, k byte) (uint8, uint32) {
	j += uint8(x) + k
	_, next := swap(s, i, j, x)
	return j, next
}

// reset runs the RC4 key schedule for key (1 to 256 octets).
func (c *rc4) reset(key []byte) {
	switch len(key) {
	case 16:
		c.reset16((*[16]byte)(key))
	case 8:
		// Key octet i%8 is octet i%16 of the key written twice.
		var k [16]byte
		copy(k[:8], key)
		copy(k[8:], key)
		c.reset16(&k)
	default:
		c.s = identity
		s := &c.s
		var j uint8
		x := s[0]
		k := 0
		for i := range 256 {
			j, x = ksaStep(s, uint8(i), j, x, key[k])
			if k++; k == len(key) {
				k = 0
			}
		}
		c.i, c.j = 0, 0
	}
}

// reset16 is reset for a 16-octet key (MPPE-128; 40- and 56-bit keys of 8
// octets come here doubled), key octet i%16 without a running index.
func (c *rc4) reset16(key *[16]byte) {
	c.s = identity
	s := &c.s
	k := *key
	var j uint8
	x := s[0]
	for i := range 256 {
		j, x = ksaStep(s, uint8(i), j, x, k[i&15])
	}
	c.i, c.j = 0, 0
}

// prgaStep is one keystream step: i++, j += S[i], swap, output
// S[S[i]+S[j]]. x is S[i+1] on entry (the new S[i]); it returns the new i,
// j, S[i+1] after the swap and the keystream octet.
func prgaStep(s *[256]uint32, i, j uint8, x uint32) (uint8, uint8, uint32, uint64) {
	i++
	j += uint8(x)
	y, next := swap(s, i, j, x)
	return i, j, next, uint64(uint8(s[uint8(x+y)]))
}

// xorKeyStream sets dst[k] = src[k] ^ keystream for k < len(src). dst must
// be at least as long as src; dst and src may be the same memory.
func (c *rc4) xorKeyStream(dst, src []byte) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	n := len(dst)
	i, j := c.i, c.j
	s := &c.s
	x := s[i+1]
	k := 0
	for ; k+8 <= n; k += 8 {
		var ks, b uint64
		i, j, x, ks = prgaStep(s, i, j, x)
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 8
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 16
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 24
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 32
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 40
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 48
		i, j, x, b = prgaStep(s, i, j, x)
		ks |= b << 56
		binary.LittleEndian.PutUint64(dst[k:k+8], binary.LittleEndian.Uint64(src[k:k+8])^ks)
	}
	for ; k < n; k++ {
		var b uint64
		i, j, x, b = prgaStep(s, i, j, x)
		dst[k] = src[k] ^ byte(b)
	}
	c.i, c.j = i, j
}
