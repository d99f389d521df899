package mppe

import (
	"bytes"
	stdrc4 "crypto/rc4"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func arr16(t testing.TB, s string) (a [16]byte) {
	t.Helper()
	if copy(a[:], unhex(t, s)) != 16 {
		t.Fatalf("%q is not 16 octets", s)
	}
	return a
}

// RFC 3079 §3.5 sample (the RFC 2759 §9.2 credentials: "User"/"clientPass").
const (
	rfcHashHash   = "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"
	rfcNTResponse = "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"
	rfcMasterKey  = "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"
	// The server's send key (§3.5 derives keys from the server's side).
	rfcSendStartKey = "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"
)

func TestRFC3079MasterKeys(t *testing.T) {
	var nt [24]byte
	copy(nt[:], unhex(t, rfcNTResponse))
	hh := arr16(t, rfcHashHash)

	if got, want := GetMasterKey(hh, nt), arr16(t, rfcMasterKey); got != want {
		t.Fatalf("GetMasterKey = %X, want %X", got, want)
	}
	serverSend, serverRecv := MasterKeys(hh, nt, true)
	clientSend, clientRecv := MasterKeys(hh, nt, false)
	if want := arr16(t, rfcSendStartKey); serverSend != want {
		t.Errorf("server send key = %X, want %X", serverSend, want)
	}
	if serverSend != clientRecv || serverRecv != clientSend {
		t.Errorf("keys not mirrored: server %X/%X client %X/%X", serverSend, serverRecv, clientSend, clientRecv)
	}
	if serverSend == serverRecv {
		t.Errorf("send and receive keys are equal: %X", serverSend)
	}
	master := arr16(t, rfcMasterKey)
	if got := GetAsymmetricStartKey(master, false, false); got != serverSend {
		t.Errorf("client receive start key = %X, want the server send key %X", got, serverSend)
	}
}

// RFC 3079 §3.5.1-§3.5.3: initial session keys from the send start key and
// the "test message" each encrypts to.
func TestRFC3079SessionKeys(t *testing.T) {
	start := unhex(t, rfcSendStartKey)
	tests := []struct {
		bits       int
		sessionKey string
		ciphertext string
	}{
		{40, "D1 26 9E C4 9F A6 2E 3E", "92 91 37 91 7E 58 03 D6 68 D7 58 98"},
		// §3.5.2 prints the last octet as 0x58; RC4 under the printed key
		// gives 0xB8 (a known erratum of the RFC's sample).
		{56, "D1 5C 00 C4 9F A6 2E 3E", "3F 10 68 33 FA 44 8D A8 42 BC 57 B8"},
		{128, "40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4", "81 84 83 17 DF 68 84 62 72 FB 5A BE"},
	}
	for _, tt := range tests {
		var s session
		if err := s.init(start, tt.bits); err != nil {
			t.Fatal(err)
		}
		if got, want := s.key[:s.keyLen], unhex(t, tt.sessionKey); !bytes.Equal(got, want) {
			t.Errorf("%d-bit session key = %X, want %X", tt.bits, got, want)
		}
		var c rc4
		s.resetRC4(&c)
		got := make([]byte, len("test message"))
		c.xorKeyStream(got, []byte("test message"))
		if want := unhex(t, tt.ciphertext); !bytes.Equal(got, want) {
			t.Errorf("%d-bit RC4(\"test message\") = %X, want %X", tt.bits, got, want)
		}
	}
}

// RFC 3079 §2.5 (MS-CHAPv1, 128-bit): start key from the password hash hash
// and the 8-octet challenge, and the session key derived from it.
func TestRFC3079MSCHAPv1Keys(t *testing.T) {
	var challenge [8]byte
	copy(challenge[:], unhex(t, "10 2D B5 DF 08 5D 30 41"))
	got := MasterKeyV1(arr16(t, rfcHashHash), challenge)
	if want := arr16(t, "A8 94 78 50 CF C0 AC C1 D1 78 9F B6 2D DC DD B0"); got != want {
		t.Fatalf("MasterKeyV1 = %X, want %X", got, want)
	}
	var s session
	if err := s.init(got[:], 128); err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "59 D1 59 BC 09 F7 6F 1D A2 A8 6A 28 FF EC 0B 1E"); !bytes.Equal(s.key[:16], want) {
		t.Errorf("session key = %X, want %X", s.key[:16], want)
	}
}

// refNextKey is RFC 3078 §7.3 written out with the standard library, to
// check the allocation-free path against.
func refNextKey(start, key []byte, bits int) []byte {
	h := sha1.New()
	h.Write(start)
	h.Write(make([]byte, 40))
	h.Write(key)
	h.Write(bytes.Repeat([]byte{0xF2}, 40))
	interim := h.Sum(nil)[:len(key)]
	c, _ := stdrc4.NewCipher(interim)
	out := make([]byte, len(key))
	c.XORKeyStream(out, interim)
	ReduceKey(out, bits)
	return out
}

func TestNextKeyMatchesReference(t *testing.T) {
	for _, bits := range []int{40, 56, 128} {
		var s session
		if err := s.init(unhex(t, rfcSendStartKey), bits); err != nil {
			t.Fatal(err)
		}
		ref := bytes.Clone(s.key[:s.keyLen])
		var c rc4
		for i := range 300 {
			ref = refNextKey(s.start[:s.keyLen], ref, bits)
			s.nextKey(&c)
			if !bytes.Equal(s.key[:s.keyLen], ref) {
				t.Fatalf("%d-bit key change %d: %X, want %X", bits, i+1, s.key[:s.keyLen], ref)
			}
		}
	}
}

func TestGetNewKeyFromSHA(t *testing.T) {
	start := unhex(t, rfcSendStartKey)
	got, err := GetNewKeyFromSHA(start, start)
	if err != nil {
		t.Fatal(err)
	}
	// The 128-bit initial session key of §3.5.3 (no reduction at 128 bits).
	if want := unhex(t, "40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4"); !bytes.Equal(got, want) {
		t.Errorf("GetNewKeyFromSHA = %X, want %X", got, want)
	}
	for _, tt := range []struct{ a, b int }{{8, 16}, {0, 0}, {20, 20}} {
		if _, err := GetNewKeyFromSHA(make([]byte, tt.a), make([]byte, tt.b)); err == nil {
			t.Errorf("GetNewKeyFromSHA(%d, %d octets): no error", tt.a, tt.b)
		}
	}
}

func TestReduceKey(t *testing.T) {
	tests := []struct {
		bits int
		want string
	}{
		{40, "D1269E0405060708"},
		{56, "D102030405060708"},
		{128, "0102030405060708"},
	}
	for _, tt := range tests {
		k := []byte{1, 2, 3, 4, 5, 6, 7, 8}
		ReduceKey(k, tt.bits)
		if !bytes.Equal(k, unhex(t, tt.want)) {
			t.Errorf("ReduceKey(%d) = %X, want %s", tt.bits, k, tt.want)
		}
	}
}

func TestRC4MatchesStdlib(t *testing.T) {
	src := make([]byte, 3000)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for _, key := range [][]byte{{1}, unhex(t, "D1269EC49FA62E3E"), unhex(t, rfcSendStartKey), bytes.Repeat([]byte{0xAB}, 256)} {
		var c rc4
		c.reset(key)
		ref, err := stdrc4.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		got, want := make([]byte, len(src)), make([]byte, len(src))
		// Uneven chunks carry i, j across calls.
		for off, step := 0, 1; off < len(src); off, step = off+step, step*3+1 {
			end := min(off+step, len(src))
			c.xorKeyStream(got[off:end], src[off:end])
			ref.XORKeyStream(want[off:end], src[off:end])
		}
		if !bytes.Equal(got, want) {
			t.Errorf("key %X: keystream differs from crypto/rc4", key)
		}
	}
}
