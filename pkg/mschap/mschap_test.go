package mschap

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/crypto/md4"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func arr8(t testing.TB, s string) (a [8]byte) {
	t.Helper()
	if n := copy(a[:], unhex(t, s)); n != 8 {
		t.Fatalf("%q: %d octets, want 8", s, n)
	}
	return a
}

func arr16(t testing.TB, s string) (a [16]byte) {
	t.Helper()
	if n := copy(a[:], unhex(t, s)); n != 16 {
		t.Fatalf("%q: %d octets, want 16", s, n)
	}
	return a
}

func arr24(t testing.TB, s string) (a [24]byte) {
	t.Helper()
	if n := copy(a[:], unhex(t, s)); n != 24 {
		t.Fatalf("%q: %d octets, want 24", s, n)
	}
	return a
}

// RFC 2759 §9.2 sample: every intermediate value.
const (
	rfc2759User          = "User"
	rfc2759Password      = "clientPass"
	rfc2759AuthChallenge = "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28"
	rfc2759PeerChallenge = "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E"
	rfc2759Challenge     = "D0 2E 43 86 BC E9 12 26"
	rfc2759PasswordHash  = "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"
	rfc2759NTResponse    = "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"
	rfc2759HashHash      = "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"
	rfc2759AuthResponse  = "S=407A5589115FD0D6209F510FE9C04566932CDA56"
)

func TestRFC2759Vectors(t *testing.T) {
	auth := arr16(t, rfc2759AuthChallenge)
	peer := arr16(t, rfc2759PeerChallenge)
	pwHash := arr16(t, rfc2759PasswordHash)
	ntResp := arr24(t, rfc2759NTResponse)

	if got := NTPasswordHash(rfc2759Password); got != pwHash {
		t.Errorf("NTPasswordHash = %X, want %X", got, pwHash)
	}
	if got, want := HashNTPasswordHash(pwHash), arr16(t, rfc2759HashHash); got != want {
		t.Errorf("HashNTPasswordHash = %X, want %X", got, want)
	}
	if got, want := ChallengeHash(peer, auth, rfc2759User), arr8(t, rfc2759Challenge); got != want {
		t.Errorf("ChallengeHash = %X, want %X", got, want)
	}
	if got := ChallengeResponse(arr8(t, rfc2759Challenge), pwHash); got != ntResp {
		t.Errorf("ChallengeResponse = %X, want %X", got, ntResp)
	}
	if got := GenerateNTResponse(auth, peer, rfc2759User, rfc2759Password); got != ntResp {
		t.Errorf("GenerateNTResponse = %X, want %X", got, ntResp)
	}
	if got := GenerateAuthenticatorResponse(rfc2759Password, ntResp, peer, auth, rfc2759User); got != rfc2759AuthResponse {
		t.Errorf("GenerateAuthenticatorResponse = %s, want %s", got, rfc2759AuthResponse)
	}
}

func TestCheckNTResponse(t *testing.T) {
	auth := arr16(t, rfc2759AuthChallenge)
	peer := arr16(t, rfc2759PeerChallenge)
	good := arr24(t, rfc2759NTResponse)
	flipped := good
	flipped[23] ^= 1
	otherPeer := peer
	otherPeer[0] ^= 0x80
	tests := []struct {
		name     string
		auth     [16]byte
		peer     [16]byte
		user     string
		password string
		resp     [24]byte
		want     bool
	}{
		{"rfc vector", auth, peer, rfc2759User, rfc2759Password, good, true},
		{"domain prefix is not hashed", auth, peer, `CORP\User`, rfc2759Password, good, true},
		{"wrong password", auth, peer, rfc2759User, "clientpass", good, false},
		{"wrong user", auth, peer, "user", rfc2759Password, good, false},
		{"last bit flipped", auth, peer, rfc2759User, rfc2759Password, flipped, false},
		{"other peer challenge", auth, otherPeer, rfc2759User, rfc2759Password, good, false},
		{"empty password", auth, peer, rfc2759User, "", good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckNTResponse(tt.auth, tt.peer, tt.user, tt.password, tt.resp); got != tt.want {
				t.Errorf("CheckNTResponse = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckAuthenticatorResponse(t *testing.T) {
	auth := arr16(t, rfc2759AuthChallenge)
	peer := arr16(t, rfc2759PeerChallenge)
	nt := arr24(t, rfc2759NTResponse)
	tests := []struct {
		name     string
		password string
		received string
		want     bool
	}{
		{"exact", rfc2759Password, rfc2759AuthResponse, true},
		{"with message", rfc2759Password, rfc2759AuthResponse + " M=Access granted", true},
		{"lower-case hex", rfc2759Password, "S=" + strings.ToLower(rfc2759AuthResponse[2:]), true},
		{"truncated", rfc2759Password, rfc2759AuthResponse[:41], false},
		{"one digit off", rfc2759Password, rfc2759AuthResponse[:41] + "7", false},
		{"wrong password", "clientPasS", rfc2759AuthResponse, false},
		{"empty", rfc2759Password, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckAuthenticatorResponse(tt.password, nt, peer, auth, rfc2759User, tt.received); got != tt.want {
				t.Errorf("CheckAuthenticatorResponse(%q) = %v, want %v", tt.received, got, tt.want)
			}
		})
	}
}

// RFC 2433 Appendix B: the MS-CHAPv1 NT-Response of "MyPw".
func TestRFC2433Vectors(t *testing.T) {
	const password = "MyPw"
	challenge := arr8(t, "10 2D B5 DF 08 5D 30 41")
	wantHash := arr16(t, "FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC")
	wantResp := arr24(t, "4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61")

	if got := NTPasswordHash(password); got != wantHash {
		t.Errorf("NTPasswordHash = %X, want %X", got, wantHash)
	}
	if got := NTChallengeResponse(challenge, password); got != wantResp {
		t.Errorf("NTChallengeResponse = %X, want %X", got, wantResp)
	}
	tests := []struct {
		name     string
		password string
		resp     [24]byte
		want     bool
	}{
		{"match", password, wantResp, true},
		{"case matters", "mypw", wantResp, false},
		{"other response", password, arr24(t, rfc2759NTResponse), false},
	}
	for _, tt := range tests {
		if got := CheckNTChallengeResponse(challenge, tt.password, tt.resp); got != tt.want {
			t.Errorf("%s: CheckNTChallengeResponse = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNTPasswordHashUnicode(t *testing.T) {
	// A non-BMP rune is two UTF-16 code units; an ASCII password hashes
	// the same as its explicit UTF-16LE bytes (RFC 2759 §8.3).
	tests := []struct {
		password string
		utf16le  []byte
	}{
		{"", nil},
		{"a", []byte{'a', 0}},
		{"é", []byte{0xE9, 0x00}},
		{"😀", []byte{0x3D, 0xD8, 0x00, 0xDE}},
	}
	for _, tt := range tests {
		want := md4Sum(tt.utf16le)
		if got := NTPasswordHash(tt.password); got != want {
			t.Errorf("NTPasswordHash(%q) = %X, want %X", tt.password, got, want)
		}
	}
}

func TestDESKeyExpansion(t *testing.T) {
	// 7-octet key bits spread 7 per octet, parity bit (LSB) clear
	// (RFC 2759 §8.6): all-ones gives 0xFE in every octet.
	tests := []struct{ key7, key8 string }{
		{"FFFFFFFFFFFFFF", "FEFEFEFEFEFEFEFE"},
		{"00000000000000", "0000000000000000"},
		{"80000000000001", "8000000000000002"},
	}
	for _, tt := range tests {
		k := unhex(t, tt.key7)
		var got [8]byte
		expandDESKey(&got, k)
		if !bytes.Equal(got[:], unhex(t, tt.key8)) {
			t.Errorf("expandDESKey(%s) = %X, want %s", tt.key7, got, tt.key8)
		}
	}
}

func BenchmarkGenerateNTResponse(b *testing.B) {
	auth := arr16(b, rfc2759AuthChallenge)
	peer := arr16(b, rfc2759PeerChallenge)
	for b.Loop() {
		GenerateNTResponse(auth, peer, rfc2759User, rfc2759Password)
	}
}

func md4Sum(b []byte) [16]byte {
	h := md4.New()
	h.Write(b)
	var out [16]byte
	h.Sum(out[:0])
	return out
}
