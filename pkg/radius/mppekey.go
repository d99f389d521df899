package radius

import (
	"crypto/md5"
	"errors"
	"fmt"
)

// DecryptMPPEKey recovers the key from an MS-MPPE-Send-Key or
// MS-MPPE-Recv-Key value (RFC 2548 §2.4.2, §2.4.3): Salt (2 octets, high
// bit set) then String, the encryption of P = Key-Length, Key, zero
// padding to a multiple of 16, in 16-octet blocks:
//
//	b(1) = MD5(Secret + Request-Authenticator + Salt)   c(1) = p(1) xor b(1)
//	b(i) = MD5(Secret + c(i-1))                         c(i) = p(i) xor b(i)
func DecryptMPPEKey(v, secret []byte, reqAuth [16]byte) ([]byte, error) {
	if len(v) < 2+16 || (len(v)-2)%16 != 0 {
		return nil, fmt.Errorf("mppe key: value of %d octets (want salt + n*16)", len(v))
	}
	if v[0]&0x80 == 0 {
		return nil, errors.New("mppe key: salt without its high bit (RFC 2548 §2.4.2)")
	}
	salt, c := v[:2], v[2:]
	p := make([]byte, len(c))
	for i := 0; i < len(c); i += 16 {
		b := keyPad(secret, reqAuth, salt, c, i)
		for j := range 16 {
			p[i+j] = c[i+j] ^ b[j]
		}
	}
	n := int(p[0])
	if n == 0 || n > len(p)-1 {
		return nil, fmt.Errorf("mppe key: key length %d in %d octets (wrong secret?)", n, len(p)-1)
	}
	return p[1 : 1+n], nil
}

// EncryptMPPEKey is DecryptMPPEKey's inverse, for a server (and tests):
// salt's high bit is set here.
func EncryptMPPEKey(key, secret []byte, reqAuth [16]byte, salt [2]byte) ([]byte, error) {
	if len(key) == 0 || len(key) > 240 {
		return nil, fmt.Errorf("mppe key: %d octets", len(key))
	}
	salt[0] |= 0x80
	plen := (1 + len(key) + 15) / 16 * 16
	out := make([]byte, 2+plen)
	copy(out, salt[:])
	out[2] = byte(len(key))
	copy(out[3:], key)
	c := out[2:]
	for i := 0; i < len(c); i += 16 {
		b := keyPad(secret, reqAuth, salt[:], c, i)
		for j := range 16 {
			c[i+j] ^= b[j]
		}
	}
	return out, nil
}

// keyPad is b(i) for the block of c at offset i: MD5 over the secret and
// the Request Authenticator and salt for the first block, over the secret
// and the previous ciphertext block after that.
func keyPad(secret []byte, reqAuth [16]byte, salt, c []byte, i int) [md5.Size]byte {
	h := md5.New()
	h.Write(secret)
	if i == 0 {
		h.Write(reqAuth[:])
		h.Write(salt)
	} else {
		h.Write(c[i-16 : i])
	}
	var b [md5.Size]byte
	h.Sum(b[:0])
	return b
}

// decryptMPPEKeys recovers MS-CHAP-MPPE-Keys (RFC 2548 §2.4.1): 32 octets
// hidden as User-Password is (RFC 2865 §5.2, no salt), holding the LM key
// (8), the NT key (16) and padding. Not radius.UserPassword: that cuts at
// the first zero octet, and an unused LM key is all zeros.
func decryptMPPEKeys(v, secret []byte, reqAuth [16]byte) ([]byte, error) {
	if len(v) != 32 {
		return nil, fmt.Errorf("ms-chap-mppe-keys: %d octets, want 32", len(v))
	}
	p := make([]byte, len(v))
	for i := 0; i < len(v); i += 16 {
		b := keyPad(secret, reqAuth, nil, v, i)
		for j := range 16 {
			p[i+j] = v[i+j] ^ b[j]
		}
	}
	return p[:24], nil
}
