package radius

import (
	"crypto/md5"
	"fmt"
)

// keyPad is b(i) for the block of c at offset i (RFC 2865 §5.2): MD5 over
// the secret and the Request Authenticator for the first block, over the
// secret and the previous ciphertext block after that.
func keyPad(secret []byte, reqAuth [16]byte, c []byte, i int) [md5.Size]byte {
	h := md5.New()
	h.Write(secret)
	if i == 0 {
		h.Write(reqAuth[:])
	} else {
		h.Write(c[i-16 : i])
	}
	var b [md5.Size]byte
	h.Sum(b[:0])
	return b
}

// MS-MPPE-Send-Key and MS-MPPE-Recv-Key (RFC 2548 §2.4.2, §2.4.3) are
// decrypted by layeh's vendors/microsoft (RFC 2868's Tunnel-Password
// construction, the same one); MS-CHAP-MPPE-Keys needs the function below.

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
		b := keyPad(secret, reqAuth, v, i)
		for j := range 16 {
			p[i+j] = v[i+j] ^ b[j]
		}
	}
	return p[:24], nil
}
