package mppe

import (
	"bytes"
	"slices"
	"testing"
)

// This file keeps the RC4 of before the fast one (rc4.go), the plain loops
// as in RFC 3078's references and crypto/rc4, and the per-packet work of
// stateless MPPE-128 built on it, so that every benchmark run measures the
// speed-up against the same machine and load: BenchmarkEncryptStateless
// against BenchmarkEncryptStatelessReference, and so on. They are checked to
// produce the same octets as the package's cipher.

// plainRC4 is the previous rc4: S as 32-bit words, each step waiting for
// the swap before it.
type plainRC4 struct {
	s    [256]uint32
	i, j uint8
}

func (c *plainRC4) reset(key []byte) {
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

func (c *plainRC4) xorKeyStream(dst, src []byte) {
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

// plainStateless is Encrypter and Decrypter for stateless MPPE-128 on
// plainRC4: the same steps per packet (count, GetNewKeyFromSHA, a key
// schedule and 16 octets of keystream for the new key, a key schedule with
// it, the payload), in-order packets only on the receiving side.
type plainStateless struct {
	start, key [16]byte
	rc4        plainRC4
	sha        shaInput
	count      uint16           // sender: the last count sent; receiver: the last received
	keys       [window][16]byte // receiver: the key of each recent count
	seen       uint64
}

func newPlainStateless(t testing.TB, masterKey []byte) *plainStateless {
	t.Helper()
	if len(masterKey) != 16 {
		t.Fatalf("master key of %d octets", len(masterKey))
	}
	p := &plainStateless{count: countMask, seen: ^uint64(0)}
	copy(p.start[:], masterKey)
	sum := p.sha.newKeyFromSHA(p.start[:], p.start[:])
	copy(p.key[:], sum[:16])
	return p
}

func (p *plainStateless) nextKey() {
	interim := p.sha.newKeyFromSHA(p.start[:], p.key[:])
	p.rc4.reset(interim[:16])
	p.rc4.xorKeyStream(p.key[:], interim[:16])
}

func (p *plainStateless) encrypt(dst, payload []byte) []byte {
	p.count = (p.count + 1) & countMask
	p.nextKey()
	p.rc4.reset(p.key[:])
	n := len(dst)
	dst = slices.Grow(dst, HeaderLen+len(payload))[:n+HeaderLen+len(payload)]
	p.rc4.xorKeyStream(dst[n+HeaderLen:], payload)
	dst[n] = FlagFlushed | FlagEncrypted | byte(p.count>>8)
	dst[n+1] = byte(p.count)
	return dst
}

func (p *plainStateless) decrypt(dst, packet []byte) ([]byte, error) {
	if len(packet) < HeaderLen {
		return dst, ErrShort
	}
	if packet[0]&FlagEncrypted == 0 {
		return dst, ErrNotEncrypted
	}
	count := (uint16(packet[0])<<8 | uint16(packet[1])) & countMask
	if (count-p.count)&countMask != 1 {
		return dst, ErrLate
	}
	p.count = count
	p.nextKey()
	p.keys[count%window] = p.key
	p.seen = p.seen<<1 | 1
	p.rc4.reset(p.key[:])
	n := len(dst)
	ct := packet[HeaderLen:]
	dst = slices.Grow(dst, len(ct))[:n+len(ct)]
	p.rc4.xorKeyStream(dst[n:], ct)
	return dst, nil
}

// TestPlainStatelessMatches: the reference benchmarks measure a cipher
// that does the package's work, octet for octet.
func TestPlainStatelessMatches(t *testing.T) {
	e, _ := pair(t, 128, true)
	ref := newPlainStateless(t, unhex(t, rfcSendStartKey))
	recv := newPlainStateless(t, unhex(t, rfcSendStartKey))
	for i := range 4096 + 100 {
		p := payloadFor(i)
		got, want := e.Encrypt(nil, p), ref.encrypt(nil, p)
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d:\n got %X\nwant %X", i, got, want)
		}
		out, err := recv.decrypt(nil, got)
		if err != nil || !bytes.Equal(out, p) {
			t.Fatalf("packet %d: reference decrypt %q, %v", i, out, err)
		}
	}
}

func BenchmarkEncryptStatelessReference(b *testing.B) {
	benchmarkCodec(b, plainCodec(b), false)
}

func BenchmarkDecryptStatelessReference(b *testing.B) {
	benchmarkCodec(b, plainCodec(b), true)
}

func plainCodec(b *testing.B) codec {
	key := unhex(b, rfcSendStartKey)
	return codec{newPlainStateless(b, key).encrypt, newPlainStateless(b, key).decrypt}
}

// The key schedule and the keystream alone, fast and plain.

func BenchmarkKeySchedule(b *testing.B)          { benchmarkRC4(b, new(rc4), false) }
func BenchmarkKeyScheduleReference(b *testing.B) { benchmarkRC4(b, new(plainRC4), false) }
func BenchmarkKeyStream(b *testing.B)            { benchmarkRC4(b, new(rc4), true) }
func BenchmarkKeyStreamReference(b *testing.B)   { benchmarkRC4(b, new(plainRC4), true) }

// benchmarkRC4 measures the schedule for a 16-octet key, or (stream)
// 1400 octets of keystream.
func benchmarkRC4(b *testing.B, c interface {
	reset(key []byte)
	xorKeyStream(dst, src []byte)
}, stream bool) {
	key := unhex(b, rfcSendStartKey)
	c.reset(key)
	if !stream {
		for b.Loop() {
			c.reset(key)
		}
		return
	}
	buf := make([]byte, 1400)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		c.xorKeyStream(buf, buf)
	}
}
