package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
)

// Keys are PEM files in the standard encodings (PKCS #8 private, PKIX public; RFC 8410), so
// that `openssl genpkey -algorithm ed25519 -out update.key` and `openssl pkey -in update.key
// -pubout -out update.pub` make a pair as well as GenerateKey does. An ed25519 key's DER is a
// fixed prefix and the 32 key bytes (RFC 8410 §7 and §10.1): the init reads it without
// crypto/x509, which would add a megabyte to the initramfs.
var (
	pkixPrefix  = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}
	pkcs8Prefix = []byte{0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20}
)

// GenerateKey makes a new key pair and returns both in PEM.
func GenerateKey() (privPEM, pubPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	privPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: append(bytes.Clone(pkcs8Prefix), priv.Seed()...)})
	return privPEM, PublicPEM(pub), nil
}

// PublicPEM encodes pub as a PEM PKIX public key.
func PublicPEM(pub ed25519.PublicKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: append(bytes.Clone(pkixPrefix), pub...)})
}

// ParsePrivateKey reads a PEM PKCS #8 ed25519 private key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	der, err := derOf(data, "PRIVATE KEY", pkcs8Prefix, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(der), nil
}

// ParsePublicKey reads a PEM PKIX ed25519 public key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	der, err := derOf(data, "PUBLIC KEY", pkixPrefix, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(der), nil
}

func derOf(data []byte, typ string, prefix []byte, n int) ([]byte, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("update: key: not a PEM %q", typ)
	}
	if len(blk.Bytes) != len(prefix)+n || !bytes.HasPrefix(blk.Bytes, prefix) {
		return nil, fmt.Errorf("update: key: not an ed25519 %s (openssl genpkey -algorithm ed25519 makes one)", typ)
	}
	return blk.Bytes[len(prefix):], nil
}

// ReadPrivateKey and ReadPublicKey read key files, naming the file in errors.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
