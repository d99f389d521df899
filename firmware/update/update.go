// Package update is the pptpbox update file: one board's kernel, initramfs (and device
// tree) with their version, signed with ed25519 so that a box only installs what its
// builder signed.
//
// Layout: a text header, the signature, then the files' bytes in header order.
//
//	pptpbox-update 1                 magic and format version
//	board qemu-amd64                 the board it is for
//	version v0.3.0-12-gabc           what the box will report
//	key 1f2e3d4c5b6a7988             ID of the signing key (sha256 of it, first 8 bytes)
//	file vmlinuz 8123456 <sha256>    name, size, SHA-256, one line per file
//	file initrd.zst 3012345 <sha256>
//	end
//	<64 bytes: ed25519 signature of every header byte above, "end\n" included>
//	<the files>
//
// The signature covers the header and with it every file's hash, so a verified header
// vouches for the bytes that follow once their hashes match. The key line only makes the
// error readable ("signed with key X, this box trusts Y"); the signature decides.
package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Magic and FormatVersion open every update file.
const (
	Magic         = "pptpbox-update"
	FormatVersion = 1
	// MaxHeader bounds the header: a file that does not say "end" by then is not one.
	MaxHeader = 4096
	// MaxFileSize bounds one file (kernels are ~8 MiB, initramfs ~5 MiB).
	MaxFileSize = 64 << 20
	// Extension is the update file's customary extension (pptpbox-qemu-amd64-v1.upd).
	Extension = ".upd"
)

// Files a slot holds; an update carries the first two and, for device-tree boards, the third.
const (
	Kernel    = "vmlinuz"
	Initramfs = "initrd.zst"
	DTB       = "board.dtb"
)

var knownFiles = map[string]bool{Kernel: true, Initramfs: true, DTB: true}

// File is one file of an update.
type File struct {
	Name   string
	Size   int64
	SHA256 [32]byte
	Data   []byte // set by Verify and Build
}

// Header is what the signed header says.
type Header struct {
	Board   string
	Version string
	KeyID   string
	Files   []File
}

// Update is a verified update: its header and its files' bytes.
type Update struct {
	Header
	Hash string // SHA-256 of the whole file, to recognise it again
}

// KeyID names a public key in messages and in the header.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Build makes a signed update file from the named files' bytes (Kernel and Initramfs
// required, DTB optional; written in that order).
func Build(priv ed25519.PrivateKey, board, version string, files map[string][]byte) ([]byte, error) {
	if !validWord(board) || !validWord(version) {
		return nil, fmt.Errorf("update: board %q and version %q must be non-empty words", board, version)
	}
	h := Header{Board: board, Version: version, KeyID: KeyID(priv.Public().(ed25519.PublicKey))}
	for _, name := range []string{Kernel, Initramfs, DTB} {
		data, ok := files[name]
		if !ok {
			if name == DTB {
				continue
			}
			return nil, fmt.Errorf("update: %s missing", name)
		}
		if len(data) > MaxFileSize {
			return nil, fmt.Errorf("update: %s: %d bytes, more than %d", name, len(data), MaxFileSize)
		}
		h.Files = append(h.Files, File{Name: name, Size: int64(len(data)), SHA256: sha256.Sum256(data), Data: data})
	}
	for name := range files {
		if !knownFiles[name] {
			return nil, fmt.Errorf("update: unknown file %q", name)
		}
	}
	head := h.encode()
	out := bytes.NewBuffer(append(head, ed25519.Sign(priv, head)...))
	for _, f := range h.Files {
		out.Write(f.Data)
	}
	return out.Bytes(), nil
}

func (h *Header) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\nboard %s\nversion %s\nkey %s\n", Magic, FormatVersion, h.Board, h.Version, h.KeyID)
	for _, f := range h.Files {
		fmt.Fprintf(&b, "file %s %d %x\n", f.Name, f.Size, f.SHA256)
	}
	b.WriteString("end\n")
	return b.Bytes()
}

func validWord(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, " \t\r\n") && strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) < 0
}

// ParseHeader reads the header and the signature at the start of data, without checking
// the signature: Verify does. It returns the header, its bytes (what is signed), the
// signature and the rest of data.
func ParseHeader(data []byte) (h *Header, head, sig, rest []byte, err error) {
	end := bytes.Index(data[:min(len(data), MaxHeader)], []byte("\nend\n"))
	if !bytes.HasPrefix(data, []byte(Magic+" ")) {
		return nil, nil, nil, nil, errors.New("update: not a pptpbox update file (no " + Magic + " header)")
	}
	if end < 0 {
		return nil, nil, nil, nil, fmt.Errorf("update: header without an end line in its first %d bytes (truncated or not an update file)", MaxHeader)
	}
	head = data[:end+len("\nend\n")]
	rest = data[len(head):]
	if len(rest) < ed25519.SignatureSize {
		return nil, nil, nil, nil, fmt.Errorf("update: truncated: no signature after the header (unsigned file)")
	}
	sig, rest = rest[:ed25519.SignatureSize], rest[ed25519.SignatureSize:]
	// The header is strict: its lines in the order Build writes them, so that what was
	// signed has exactly one reading.
	h = &Header{}
	lines := strings.Split(strings.TrimSuffix(string(head), "\n"), "\n")
	lines = lines[:len(lines)-1] // "end", found above
	if len(lines) < 6 {
		return nil, nil, nil, nil, errors.New("update: header lacks board, version, key, " + Kernel + " or " + Initramfs)
	}
	order := []string{Kernel, Initramfs, DTB}
	for i, l := range lines {
		f := strings.Split(l, " ")
		bad := func(why string) error { return fmt.Errorf("update: header line %d %q: %s", i+1, l, why) }
		word := func(key string) (string, error) {
			if len(f) != 2 || f[0] != key || !validWord(f[1]) {
				return "", bad("want " + key + " and a word")
			}
			return f[1], nil
		}
		var err error
		switch i {
		case 0:
			if len(f) != 2 || f[1] != strconv.Itoa(FormatVersion) {
				err = bad(fmt.Sprintf("format version not %d (made by a newer mkupdate?)", FormatVersion))
			}
		case 1:
			h.Board, err = word("board")
		case 2:
			h.Version, err = word("version")
		case 3:
			h.KeyID, err = word("key")
		default:
			if len(f) != 4 || f[0] != "file" || len(order) == 0 || f[1] != order[0] {
				return nil, nil, nil, nil, bad("want file " + strings.Join(order, "|") + " SIZE SHA256")
			}
			order = order[1:]
			size, perr := strconv.ParseInt(f[2], 10, 64)
			if perr != nil || size < 0 || size > MaxFileSize || strconv.FormatInt(size, 10) != f[2] {
				return nil, nil, nil, nil, bad("bad size")
			}
			sum, herr := hex.DecodeString(f[3])
			if herr != nil || len(sum) != sha256.Size || hex.EncodeToString(sum) != f[3] {
				return nil, nil, nil, nil, bad("bad sha256")
			}
			file := File{Name: f[1], Size: size}
			copy(file.SHA256[:], sum)
			h.Files = append(h.Files, file)
		}
		if err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return h, head, sig, rest, nil
}

// Verify checks an update file for this box: its signature with pub, its board, its size
// and every file's hash. The errors say which, in words for the console.
func Verify(data []byte, pub ed25519.PublicKey, board string) (*Update, error) {
	h, head, sig, rest, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("update: this box has no update key: it cannot accept updates")
	}
	if !ed25519.Verify(pub, head, sig) {
		if h.KeyID != KeyID(pub) {
			return nil, fmt.Errorf("update: refused: signed with key %s, this box trusts key %s only", h.KeyID, KeyID(pub))
		}
		return nil, fmt.Errorf("update: refused: the signature does not match (the file was altered or damaged)")
	}
	if h.Board != board {
		return nil, fmt.Errorf("update: refused: built for board %s, this box is %s", h.Board, board)
	}
	var want int64
	for _, f := range h.Files {
		want += f.Size
	}
	if int64(len(rest)) != want {
		return nil, fmt.Errorf("update: truncated or padded: the header names %d bytes of files, %d follow it", want, len(rest))
	}
	for i := range h.Files {
		f := &h.Files[i]
		f.Data, rest = rest[:f.Size], rest[f.Size:]
		if sha256.Sum256(f.Data) != f.SHA256 {
			return nil, fmt.Errorf("update: %s is damaged (SHA-256 differs from the signed header)", f.Name)
		}
	}
	sum := sha256.Sum256(data)
	return &Update{Header: *h, Hash: hex.EncodeToString(sum[:])}, nil
}
