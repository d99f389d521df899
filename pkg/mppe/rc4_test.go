package mppe

import (
	"bytes"
	stdrc4 "crypto/rc4"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkRC4 runs rc4 and crypto/rc4 keyed with key over src, cut into
// chunks at cuts (so that i and j carry across calls), once into a
// separate buffer and once in place, and reports the first difference.
func checkRC4(t *testing.T, key, src []byte, cuts []int) {
	t.Helper()
	ref, err := stdrc4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	var c, inPlace rc4
	c.reset(key)
	inPlace.reset(key)
	want, got, buf := make([]byte, len(src)), make([]byte, len(src)), bytes.Clone(src)
	off := 0
	for _, end := range append(cuts, len(src)) {
		end = min(max(end, off), len(src))
		ref.XORKeyStream(want[off:end], src[off:end])
		c.xorKeyStream(got[off:end], src[off:end])
		inPlace.xorKeyStream(buf[off:end], buf[off:end])
		off = end
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("key %X (%d octets), %d octets cut at %v: keystream differs from crypto/rc4", key, len(key), len(src), cuts)
	}
	if !bytes.Equal(buf, want) {
		t.Fatalf("key %X (%d octets), %d octets cut at %v: in place differs from crypto/rc4", key, len(key), len(src), cuts)
	}
}

// TestRC4Random compares rc4 with crypto/rc4 over random keys of every
// length (MPPE's 8 and 16 octets most), random data lengths and random
// chunking.
func TestRC4Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	for n := range 3000 {
		var klen int
		switch n % 4 {
		case 0:
			klen = 16
		case 1:
			klen = 8
		default:
			klen = 1 + rng.IntN(256)
		}
		key := make([]byte, klen)
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		src := make([]byte, rng.IntN(3000))
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		var cuts []int
		for range rng.IntN(6) {
			cuts = append(cuts, rng.IntN(len(src)+1))
		}
		slices.Sort(cuts)
		checkRC4(t, key, src, cuts)
	}
}

// TestRC4Swaps covers the fix-up in swap (j == i+1) on keys that hit it
// early and often: all-equal and all-zero keys, and j running just ahead
// of i.
func TestRC4Swaps(t *testing.T) {
	src := make([]byte, 2048)
	for _, key := range [][]byte{
		make([]byte, 16), make([]byte, 8), {0}, {1}, {0xFF},
		bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{0xFF}, 8), bytes.Repeat([]byte{0xFE}, 256),
	} {
		checkRC4(t, key, src, []int{1, 2, 3, 11, 19, 100, 1000})
	}
}

// FuzzRC4 is a differential target: any key (1 to 256 octets), any data,
// any chunking must give crypto/rc4's output.
func FuzzRC4(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte("some data to encrypt, longer than eight"), uint8(3), uint8(17))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 64), uint8(0), uint8(8))
	f.Add([]byte{0xD1, 0x26, 0x9E, 1, 2, 3, 4, 5}, []byte{1}, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, key, src []byte, cut1, cut2 uint8) {
		if len(key) == 0 || len(key) > 256 {
			return
		}
		a, b := int(cut1), int(cut1)+int(cut2)
		checkRC4(t, key, src, []int{a, b})
	})
}
