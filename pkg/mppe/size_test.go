package mppe

import (
	"bytes"
	"runtime"
	"testing"
)

// What an idle session's ciphers may hold (issue 13 goal 5: at most 20 KiB
// of boxd per idle session), per Encrypter+Decrypter pair. A stateless pair
// keeps the key window (1 KiB) and no RC4 state, which is re-keyed for
// every packet and lives only for one Encrypt or Decrypt call: 1248 bytes
// when this was written (3968 before, with an RC4 state of 1 KiB in each
// direction). A stateful pair keeps an RC4 state per direction and no key
// window: 2528 bytes (each state is 1028 bytes, in the 1152-byte size
// class).
const (
	maxStatelessPairBytes = 1536
	maxStatefulPairBytes  = 3072
)

// TestCipherMemory counts the heap bytes (size classes included) that
// NewEncrypter and NewDecrypter allocate for one direction pair, in both
// modes.
func TestCipherMemory(t *testing.T) {
	for _, tt := range []struct {
		stateless bool
		max       uint64
	}{{true, maxStatelessPairBytes}, {false, maxStatefulPairBytes}} {
		const pairs = 1000
		key := unhex(t, rfcSendStartKey)
		encs := make([]*Encrypter, pairs)
		decs := make([]*Decrypter, pairs)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range pairs {
			var err error
			if encs[i], err = NewEncrypter(key, 128, tt.stateless); err != nil {
				t.Fatal(err)
			}
			if decs[i], err = NewDecrypter(key, 128, tt.stateless); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		perPair := (after.TotalAlloc - before.TotalAlloc) / pairs
		t.Logf("stateless=%v: %d bytes per Encrypter+Decrypter", tt.stateless, perPair)
		if perPair > tt.max {
			t.Errorf("stateless=%v: %d bytes per Encrypter+Decrypter, want at most %d", tt.stateless, perPair, tt.max)
		}
		// Small, and working (TestNoAllocs: nothing allocated per packet).
		for i := range 3 {
			p := payloadFor(i)
			if out, err := decs[0].Decrypt(nil, encs[0].Encrypt(nil, p)); err != nil || !bytes.Equal(out, p) {
				t.Fatalf("stateless=%v: packet %d decrypted %q, %v", tt.stateless, i, out, err)
			}
		}
		runtime.KeepAlive(encs)
		runtime.KeepAlive(decs)
	}
}
