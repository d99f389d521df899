// Package mppe implements Microsoft Point-to-Point Encryption: the RC4
// packet cipher of RFC 3078 and the key derivation of RFC 3079.
//
// # Keys
//
// MS-CHAPv2 authentication yields, for each direction, a 16-octet start key
// ("master session key"): MasterKeys derives them from the password hash hash
// and the peer's NT-Response (RFC 3079 §3.4), and RADIUS carries the same two
// keys as MS-MPPE-Send-Key and MS-MPPE-Recv-Key (RFC 2548 §2.4.2, §2.4.3).
// NewEncrypter and NewDecrypter take one such key each and derive the RC4
// session keys from it for the negotiated strength (40, 56 or 128 bits).
//
// # Packets
//
// An MPPE packet (PPP protocol 0x00FD) carries a 2-octet header, the A/B/C/D
// flags and a 12-bit coherency count in network byte order, then the
// RC4-encrypted original PPP protocol field and information (RFC 3078 §3).
// In stateless mode ("H" bit) the session key changes before every packet;
// in stateful mode it changes every 256 packets and a lost packet stops
// decryption until the peer flushes its state after a CCP Reset-Request
// (RFC 3078 §7, §8).
//
// An Encrypter or a Decrypter serves one direction of one link and is not
// safe for concurrent use. Neither keeps counters: the caller counts the
// errors it gets back.
package mppe

import (
	"crypto/sha1"
	"fmt"
)

// Magic strings of RFC 3079 §3.4, used verbatim as SHA-1 input.
var (
	magic1 = []byte("This is the MPPE Master Key")
	// magic2 is the client's send key and the server's receive key.
	magic2 = []byte("On the client side, this is the send key; on the server side, it is the receive key.")
	// magic3 is the client's receive key and the server's send key.
	magic3 = []byte("On the client side, this is the receive key; on the server side, it is the send key.")
)

// The SHA-1 pads of GetNewKeyFromSHA and GetAsymmetricStartKey
// (RFC 3079 §3.3, §3.4): 40 octets of 0x00 and 40 of 0xF2.
const padLen = 40

var (
	shsPad1 = [padLen]byte{}
	shsPad2 = [padLen]byte{
		0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2,
		0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2,
		0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2,
		0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2,
	}
)

// GetMasterKey derives the MS-CHAPv2 master key: the first 16 octets of
// SHA-1(PasswordHashHash || NT-Response || Magic1) (RFC 3079 §3.4).
func GetMasterKey(passwordHashHash [16]byte, ntResponse [24]byte) [16]byte {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(magic1)
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [16]byte
	copy(out[:], sum[:])
	return out
}

// GetAsymmetricStartKey derives the start key of one direction from the
// master key (RFC 3079 §3.4). The result is 16 octets; a 40- or 56-bit
// session uses its first 8, as §3.4's SessionKeyLength truncation does.
func GetAsymmetricStartKey(masterKey [16]byte, isSend, isServer bool) [16]byte {
	magic := magic3
	if isSend != isServer {
		magic = magic2
	}
	h := sha1.New()
	h.Write(masterKey[:])
	h.Write(shsPad1[:])
	h.Write(magic)
	h.Write(shsPad2[:])
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [16]byte
	copy(out[:], sum[:])
	return out
}

// MasterKeys returns the MS-CHAPv2 MPPE keys of one side of the link, 16
// octets each, exactly as RADIUS MS-MPPE-Send-Key and MS-MPPE-Recv-Key carry
// them for the server: the server's send key is the client's receive key
// and the other way round (RFC 3079 §3.4, RFC 2548 §2.4.2).
func MasterKeys(passwordHashHash [16]byte, ntResponse [24]byte, server bool) (send, recv [16]byte) {
	master := GetMasterKey(passwordHashHash, ntResponse)
	return GetAsymmetricStartKey(master, true, server), GetAsymmetricStartKey(master, false, server)
}

// MasterKeyV1 returns the MS-CHAPv1 MPPE key, the same in both directions:
// the first 16 octets of SHA-1(PasswordHashHash || PasswordHashHash ||
// Challenge), where Challenge is the authenticator's 8-octet challenge
// (RFC 3079 §2.4, "GetStartKey"; §2.1's 40/56-bit keys from the LAN Manager
// hash are not supported, so weaker strengths use the first 8 octets of this
// key, as pppd does).
func MasterKeyV1(passwordHashHash [16]byte, challenge [8]byte) [16]byte {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(passwordHashHash[:])
	h.Write(challenge[:])
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var out [16]byte
	copy(out[:], sum[:])
	return out
}

// GetNewKeyFromSHA is SHA-1(StartKey || SHSpad1 || SessionKey || SHSpad2)
// truncated to the key length (RFC 3079 §3.3; RFC 3078 §7.3 "GetNewKeyFromSHA").
// startKey and sessionKey must have the same length, 8 or 16 octets.
func GetNewKeyFromSHA(startKey, sessionKey []byte) ([]byte, error) {
	if n := len(startKey); (n != 8 && n != 16) || len(sessionKey) != n {
		return nil, fmt.Errorf("mppe: GetNewKeyFromSHA: key lengths %d and %d, want 8 or 16 each", len(startKey), len(sessionKey))
	}
	var buf shaInput
	sum := buf.newKeyFromSHA(startKey, sessionKey)
	return sum[:len(startKey)], nil
}

// shaInput is the concatenation buffer of GetNewKeyFromSHA, a local of the
// caller so that rekeying does not allocate.
type shaInput [2*16 + 2*padLen]byte

func (b *shaInput) newKeyFromSHA(startKey, sessionKey []byte) [sha1.Size]byte {
	n := copy(b[:], startKey)
	n += copy(b[n:], shsPad1[:])
	n += copy(b[n:], sessionKey)
	n += copy(b[n:], shsPad2[:])
	return sha1.Sum(b[:n])
}

// ReduceKey weakens an 8-octet session key to the negotiated strength by
// overwriting its leading octets with fixed values (RFC 3079 §3.5, RFC 3078
// §7.1): 40-bit keys start 0xD1 0x26 0x9E, 56-bit keys start 0xD1. 128-bit
// keys are left alone.
func ReduceKey(key []byte, bits int) {
	switch bits {
	case 40:
		key[0], key[1], key[2] = 0xD1, 0x26, 0x9E
	case 56:
		key[0] = 0xD1
	}
}

// keyLen is the session key length of a strength: 8 octets for 40 and 56
// bits, 16 for 128 (RFC 3079 §3.5).
func keyLen(bits int) (int, error) {
	switch bits {
	case 40, 56:
		return 8, nil
	case 128:
		return 16, nil
	}
	return 0, fmt.Errorf("mppe: bad key strength %d bits, want 40, 56 or 128", bits)
}
