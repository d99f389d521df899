// Package mschap implements the cryptography of Microsoft's PPP CHAP
// dialects: MS-CHAP version 1 (RFC 2433) and version 2 (RFC 2759).
//
// Everything here is a pure function of its inputs: no I/O, no state.
// The PPP packet exchange lives in pkg/ppp; key derivation for MPPE
// (RFC 3079) lives in pkg/mppe.
//
// # Passwords
//
// Passwords are Go strings and are hashed as their UTF-16 little-endian
// encoding, as the RFCs' "0-to-256-unicode-char password" (RFC 2759 §8.3).
// Invalid UTF-8 is encoded as U+FFFD.
//
// # Security
//
// MS-CHAP (both versions) is broken: the NT-Response reduces to a single DES
// key search. It is implemented because PPTP clients speak nothing else.
package mschap

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// NTPasswordHash is the MD4 digest of the UTF-16LE password (RFC 2759 §8.3,
// RFC 2433 Appendix A "NtPasswordHash").
func NTPasswordHash(password string) [16]byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i] = byte(c)
		b[2*i+1] = byte(c >> 8)
	}
	h := md4.New()
	h.Write(b)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// HashNTPasswordHash is MD4 of the NT password hash (RFC 2759 §8.4). It is
// the secret a server may store instead of the password, and the input of
// the authenticator response and of MPPE key derivation.
func HashNTPasswordHash(passwordHash [16]byte) [16]byte {
	h := md4.New()
	h.Write(passwordHash[:])
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// ChallengeHash is the first 8 octets of SHA-1(PeerChallenge ||
// AuthenticatorChallenge || UserName) (RFC 2759 §8.2). As §8.2 and pppd do,
// a "DOMAIN\" prefix of the user name is left out of the hash: Windows peers
// hash only the bare account name.
func ChallengeHash(peerChallenge, authChallenge [16]byte, userName string) [8]byte {
	h := sha1.New()
	h.Write(peerChallenge[:])
	h.Write(authChallenge[:])
	h.Write([]byte(StripDomain(userName)))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [8]byte
	copy(out[:], sum[:8])
	return out
}

// StripDomain returns the part of a "DOMAIN\user" name after the last
// backslash, or name unchanged when it has none.
func StripDomain(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// ChallengeResponse encrypts the 8-octet challenge with three DES keys cut
// from the password hash padded with five zero octets to 21 octets
// (RFC 2759 §8.5, RFC 2433 Appendix A "ChallengeResponse").
func ChallengeResponse(challenge [8]byte, passwordHash [16]byte) [24]byte {
	var z [21]byte
	copy(z[:], passwordHash[:])
	var out [24]byte
	for i := range 3 {
		desEncrypt(out[8*i:8*i+8], challenge[:], z[7*i:7*i+7])
	}
	return out
}

// desEncrypt encrypts one block with a 56-bit key given as 7 octets, spread
// over the 8-octet DES key with the parity bits left clear: DES ignores them
// (RFC 2759 §8.6 "DesEncrypt").
func desEncrypt(dst, block, key7 []byte) {
	var k [8]byte
	expandDESKey(&k, key7)
	c, err := des.NewCipher(k[:])
	if err != nil {
		// des.NewCipher fails only on a key length other than 8.
		panic("mschap: des: " + err.Error())
	}
	c.Encrypt(dst, block)
}

// expandDESKey spreads 56 key bits, 7 per octet, into the high bits of the
// 8 octets of a DES key.
func expandDESKey(k *[8]byte, key7 []byte) {
	k[0] = key7[0] & 0xFE
	for i := 1; i < 7; i++ {
		k[i] = (key7[i-1]<<(8-uint(i)) | key7[i]>>uint(i)) & 0xFE
	}
	k[7] = key7[6] << 1
}

// GenerateNTResponse computes the 24-octet MS-CHAPv2 NT-Response the peer
// sends (RFC 2759 §8.1).
func GenerateNTResponse(authChallenge, peerChallenge [16]byte, userName, password string) [24]byte {
	return GenerateNTResponseHash(authChallenge, peerChallenge, userName, NTPasswordHash(password))
}

// GenerateNTResponseHash is GenerateNTResponse for a caller that holds the
// NT password hash rather than the password.
func GenerateNTResponseHash(authChallenge, peerChallenge [16]byte, userName string, passwordHash [16]byte) [24]byte {
	return ChallengeResponse(ChallengeHash(peerChallenge, authChallenge, userName), passwordHash)
}

// CheckNTResponse reports whether ntResponse is the one password gives for
// these challenges (RFC 2759 §5, the authenticator's check). The comparison
// takes the same time wherever the first difference is.
func CheckNTResponse(authChallenge, peerChallenge [16]byte, userName, password string, ntResponse [24]byte) bool {
	want := GenerateNTResponse(authChallenge, peerChallenge, userName, password)
	return subtle.ConstantTimeCompare(want[:], ntResponse[:]) == 1
}

// Magic constants of GenerateAuthenticatorResponse (RFC 2759 §8.7).
var (
	authMagic1 = []byte("Magic server to client signing constant")
	authMagic2 = []byte("Pad to make it do more than one iteration")
)

// GenerateAuthenticatorResponse returns the authenticator's proof that it
// knows the password too: "S=" and 40 upper-case hex digits (RFC 2759 §8.7),
// sent in the Success packet.
func GenerateAuthenticatorResponse(password string, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName string) string {
	return GenerateAuthenticatorResponseHash(HashNTPasswordHash(NTPasswordHash(password)), ntResponse, peerChallenge, authChallenge, userName)
}

// GenerateAuthenticatorResponseHash is GenerateAuthenticatorResponse from the
// password hash hash (HashNTPasswordHash of the NT password hash).
func GenerateAuthenticatorResponseHash(passwordHashHash [16]byte, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName string) string {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(authMagic1)
	var digest [sha1.Size]byte
	h.Sum(digest[:0])

	challenge := ChallengeHash(peerChallenge, authChallenge, userName)
	h.Reset()
	h.Write(digest[:])
	h.Write(challenge[:])
	h.Write(authMagic2)
	h.Sum(digest[:0])

	return "S=" + strings.ToUpper(hex.EncodeToString(digest[:]))
}

// CheckAuthenticatorResponse is the peer's check of the "S=..." string the
// authenticator sent in its Success message (RFC 2759 §8.8). received may
// carry the rest of the Success message (" M=..."); only its first 42
// characters are compared, case-insensitively in the hex digits, in
// constant time.
func CheckAuthenticatorResponse(password string, ntResponse [24]byte, peerChallenge, authChallenge [16]byte, userName, received string) bool {
	want := GenerateAuthenticatorResponse(password, ntResponse, peerChallenge, authChallenge, userName)
	if len(received) < len(want) {
		return false
	}
	got := strings.ToUpper(received[:len(want)])
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// NTChallengeResponse is the MS-CHAPv1 NT-Response: ChallengeResponse of the
// authenticator's 8-octet challenge under the NT password hash
// (RFC 2433 Appendix A "NtChallengeResponse").
func NTChallengeResponse(challenge [8]byte, password string) [24]byte {
	return ChallengeResponse(challenge, NTPasswordHash(password))
}

// CheckNTChallengeResponse reports, in constant time, whether ntResponse is
// the MS-CHAPv1 NT-Response of password to challenge.
func CheckNTChallengeResponse(challenge [8]byte, password string, ntResponse [24]byte) bool {
	want := NTChallengeResponse(challenge, password)
	return subtle.ConstantTimeCompare(want[:], ntResponse[:]) == 1
}
