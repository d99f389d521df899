// Package fat reads the volume label of a FAT12/16/32 filesystem from its boot sector.
//
// The init finds the flash CONFIG partition and a pptpbox USB stick by their FAT labels.
// u-root's block-device helpers match GPT partition names and filesystem UUIDs, not FAT
// labels, and a USB stick is often a "superfloppy" with no partition table at all, so the
// init reads the boot sector of every block device itself.
//
// Layout (Microsoft FAT specification, "BPB" and "Extended BPB" sections): BPB_FATSz16 at
// 0x16 is zero on FAT32; the extended boot signature 0x29 sits at 0x26 (FAT12/16) or 0x42
// (FAT32) and is followed by the 4-byte volume ID and the 11-byte label, at 0x2B or 0x47.
// Every boot sector ends with 0x55 0xAA at 510. Multi-byte BPB fields are little-endian.
package fat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// SectorSize is the number of bytes Label needs: the first sector of the device.
const SectorSize = 512

const (
	offBytesPerSec = 0x0b
	offFATSz16     = 0x16
	offBootSig16   = 0x26
	offLabel16     = 0x2b
	offFSType16    = 0x36
	offBootSig32   = 0x42
	offLabel32     = 0x47
	offFSType32    = 0x52
	extBootSig     = 0x29
	labelLen       = 11
)

// ErrNotFAT means the sector is not a FAT boot sector with an extended BPB.
var ErrNotFAT = errors.New("fat: not a FAT boot sector")

// Volume is what the boot sector says about the filesystem.
type Volume struct {
	FAT32 bool
	ID    uint32 // volume serial number
	Label string // trailing spaces removed; "" when the label is "NO NAME"
}

// Parse reads the boot sector in b (at least SectorSize bytes).
func Parse(b []byte) (Volume, error) {
	if len(b) < SectorSize {
		return Volume{}, fmt.Errorf("fat: boot sector: %d bytes, want %d", len(b), SectorSize)
	}
	if b[510] != 0x55 || b[511] != 0xaa {
		return Volume{}, ErrNotFAT
	}
	switch bps := binary.LittleEndian.Uint16(b[offBytesPerSec:]); bps {
	case 512, 1024, 2048, 4096:
	default:
		return Volume{}, fmt.Errorf("%w: %d bytes per sector", ErrNotFAT, bps)
	}
	fat32 := binary.LittleEndian.Uint16(b[offFATSz16:]) == 0
	sigOff, labelOff, typeOff := offBootSig16, offLabel16, offFSType16
	if fat32 {
		sigOff, labelOff, typeOff = offBootSig32, offLabel32, offFSType32
	}
	if b[sigOff] != extBootSig {
		return Volume{}, fmt.Errorf("%w: no extended boot signature", ErrNotFAT)
	}
	if !strings.HasPrefix(string(b[typeOff:typeOff+8]), "FAT") {
		return Volume{}, fmt.Errorf("%w: filesystem type %q", ErrNotFAT, b[typeOff:typeOff+8])
	}
	v := Volume{FAT32: fat32, ID: binary.LittleEndian.Uint32(b[sigOff+1:])}
	label := strings.TrimRight(string(b[labelOff:labelOff+labelLen]), " \x00")
	if label != "NO NAME" {
		v.Label = label
	}
	return v, nil
}
