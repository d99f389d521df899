package update

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"
)

func testKeys(t testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	priv, err := ReadPrivateKey("testdata/test.key")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ReadPublicKey("testdata/test.pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

var testFiles = map[string][]byte{Kernel: []byte("kernel bytes"), Initramfs: []byte("initramfs bytes, a few more")}

func TestBuildVerify(t *testing.T) {
	priv, pub := testKeys(t)
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatal("testdata/test.pub is not test.key's public key (openssl made both)")
	}
	data, err := Build(priv, "qemu-amd64", "v1.2.3", testFiles)
	if err != nil {
		t.Fatal(err)
	}
	u, err := Verify(data, pub, "qemu-amd64")
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != "v1.2.3" || u.Board != "qemu-amd64" || len(u.Files) != 2 || u.KeyID != KeyID(pub) {
		t.Fatalf("header %+v", u.Header)
	}
	for _, f := range u.Files {
		if !bytes.Equal(f.Data, testFiles[f.Name]) {
			t.Errorf("%s: %q", f.Name, f.Data)
		}
	}
	if len(u.Hash) != 64 {
		t.Errorf("hash %q", u.Hash)
	}
}

// TestRefusals: every way an update file is wrong gets its own words.
func TestRefusals(t *testing.T) {
	priv, pub := testKeys(t)
	other, err := ReadPrivateKey("testdata/other.key")
	if err != nil {
		t.Fatal(err)
	}
	good, _ := Build(priv, "qemu-amd64", "v2", testFiles)
	foreign, _ := Build(other, "qemu-amd64", "v2", testFiles)
	arm, _ := Build(priv, "qemu-arm64", "v2", testFiles)
	_, head, _, _, _ := ParseHeader(good)
	altered := bytes.Replace(good, []byte("version v2"), []byte("version v3"), 1)
	damaged := bytes.Clone(good)
	damaged[len(damaged)-1] ^= 1
	unsigned := append(bytes.Clone(head), make([]byte, ed25519.SignatureSize)...)
	unsigned = append(unsigned, good[len(head)+ed25519.SignatureSize:]...)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"a kernel, not an update", []byte("MZ\x00\x00 kernel"), "not a pptpbox update file"},
		{"empty", nil, "not a pptpbox update file"},
		{"header only", head[:len(head)-2], "without an end line"},
		{"no signature", head, "no signature after the header (unsigned file)"},
		{"zero signature", unsigned, "the signature does not match"},
		{"foreign key", foreign, "signed with key " + KeyID(other.Public().(ed25519.PublicKey)) + ", this box trusts key " + KeyID(pub) + " only"},
		{"altered header", altered, "the signature does not match"},
		{"other board", arm, "built for board qemu-arm64, this box is qemu-amd64"},
		{"truncated", good[:len(good)-5], "truncated or padded: the header names 39 bytes of files, 34 follow it"},
		{"padded", append(bytes.Clone(good), 0), "40 follow it"},
		{"damaged file", damaged, "initrd.zst is damaged"},
		{"newer format", bytes.Replace(good, []byte(Magic+" 1"), []byte(Magic+" 2"), 1), "format version not 1"},
	}
	for _, tt := range tests {
		_, err := Verify(tt.data, pub, "qemu-amd64")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := Verify(good, nil, "qemu-amd64"); err == nil || !strings.Contains(err.Error(), "no update key") {
		t.Errorf("no key: %v", err)
	}
}

func TestBuildRefuses(t *testing.T) {
	priv, _ := testKeys(t)
	for name, tc := range map[string]struct {
		board, version string
		files          map[string][]byte
	}{
		"no kernel":    {"b", "v", map[string][]byte{Initramfs: nil}},
		"unknown file": {"b", "v", map[string][]byte{Kernel: nil, Initramfs: nil, "x": nil}},
		"space in ver": {"b", "v 1", testFiles},
		"empty board":  {"", "v", testFiles},
	} {
		if _, err := Build(priv, tc.board, tc.version, tc.files); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestKeys(t *testing.T) {
	privPEM, pubPEM, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatal("generated pair does not match")
	}
	if _, err := ParsePublicKey(privPEM); err == nil {
		t.Error("a private key read as public")
	}
	rsa, _ := os.ReadFile("testdata/rsa.pub")
	if _, err := ParsePublicKey(rsa); err == nil || !strings.Contains(err.Error(), "not an ed25519") {
		t.Errorf("rsa key: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	priv, pub := testKeys(f)
	good, _ := Build(priv, "qemu-amd64", "v2", testFiles)
	f.Add(good)
	f.Add(good[:200])
	f.Fuzz(func(t *testing.T, data []byte) {
		h, head, sig, rest, err := ParseHeader(data)
		if err != nil {
			return
		}
		if len(head)+len(sig)+len(rest) != len(data) || h.Board == "" || len(h.Files) < 2 {
			t.Fatalf("parsed header inconsistent: %+v", h)
		}
		// Re-encoding a parsed header gives its bytes back: what was signed is what was read.
		if !bytes.Equal(h.encode(), head) {
			t.Fatalf("header re-encodes differently:\n%q\n%q", head, h.encode())
		}
		if u, err := Verify(data, pub, h.Board); err == nil && !bytes.Equal(data, good) && u.Version != "v2" {
			t.Fatalf("a file not signed by the test key verified: %+v", u.Header)
		}
	})
}
