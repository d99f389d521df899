package mppe

// rc4 is the RC4 stream cipher with a state that can be re-keyed in place.
// crypto/rc4 allocates a new Cipher for every key, and stateless MPPE
// re-keys twice per packet (RFC 3078 §7.3), so the hot path would allocate
// 2 KiB per packet; this is the same algorithm without the allocation.
// rc4_test.go checks it against crypto/rc4.
type rc4 struct {
	s    [256]uint32
	i, j uint8
}

// reset runs the RC4 key schedule for key (1 to 256 octets).
func (c *rc4) reset(key []byte) {
	for i := range c.s {
		c.s[i] = uint32(i)
	}
	var j uint8
	k := 0
	for i := range c.s {
		j += uint8(c.s[i]) + key[k]
		c.s[i], c.s[j] = c.s[j], c.s[i]
		if k++; k == len(key) {
			k = 0
		}
	}
	c.i, c.j = 0, 0
}

// xorKeyStream sets dst[k] = src[k] ^ keystream for k < len(src). dst must
// be at least as long as src; dst and src may be the same memory.
func (c *rc4) xorKeyStream(dst, src []byte) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	i, j := c.i, c.j
	s := &c.s
	for k, v := range src {
		i++
		x := s[i]
		j += uint8(x)
		y := s[j]
		s[i], s[j] = y, x
		dst[k] = v ^ uint8(s[uint8(x+y)])
	}
	c.i, c.j = i, j
}
