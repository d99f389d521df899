package fat

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sector builds a boot sector by hand, following the FAT specification's offsets.
func sector(fat32 bool, label string) []byte {
	b := make([]byte, SectorSize)
	binary.LittleEndian.PutUint16(b[offBytesPerSec:], 512)
	sig, lab, typ, fstype := offBootSig16, offLabel16, offFSType16, "FAT16   "
	if fat32 {
		sig, lab, typ, fstype = offBootSig32, offLabel32, offFSType32, "FAT32   "
	} else {
		binary.LittleEndian.PutUint16(b[offFATSz16:], 32)
	}
	b[sig] = extBootSig
	binary.LittleEndian.PutUint32(b[sig+1:], 0x1234abcd)
	copy(b[lab:lab+labelLen], []byte(label + "           ")[:labelLen])
	copy(b[typ:], fstype)
	b[510], b[511] = 0x55, 0xaa
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Volume
		wantErr bool
	}{
		{"fat16", sector(false, "CONFIG"), Volume{Label: "CONFIG", ID: 0x1234abcd}, false},
		{"fat32", sector(true, "PPTPBOOT"), Volume{FAT32: true, Label: "PPTPBOOT", ID: 0x1234abcd}, false},
		{"no name", sector(false, "NO NAME"), Volume{ID: 0x1234abcd}, false},
		{"short", make([]byte, 100), Volume{}, true},
		{"zeros", make([]byte, 512), Volume{}, true},
		{"no ext sig", func() []byte { b := sector(false, "X"); b[offBootSig16] = 0; return b }(), Volume{}, true},
		{"bad sector size", func() []byte { b := sector(false, "X"); b[offBytesPerSec] = 3; return b }(), Volume{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMkfsVfat checks the offsets against what dosfstools writes, when it is installed.
func TestMkfsVfat(t *testing.T) {
	if _, err := exec.LookPath("mkfs.vfat"); err != nil {
		t.Skip("mkfs.vfat not installed")
	}
	for _, tc := range []struct {
		args  []string
		fat32 bool
	}{{[]string{"-F", "16"}, false}, {[]string{"-F", "32"}, true}} {
		img := filepath.Join(t.TempDir(), "fs")
		args := append(tc.args, "-n", "PPTPBOX", "-i", "0badcafe", "-C", img, "40960")
		if out, err := exec.Command("mkfs.vfat", args...).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.vfat: %v: %s", err, out)
		}
		data, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Parse(data[:SectorSize])
		if err != nil {
			t.Fatal(err)
		}
		if v != (Volume{FAT32: tc.fat32, ID: 0x0badcafe, Label: "PPTPBOX"}) {
			t.Errorf("%v: got %+v", tc.args, v)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sector(false, "CONFIG"))
	f.Add(sector(true, "PPTPBOX"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			if len(b) >= SectorSize && !errors.Is(err, ErrNotFAT) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(v.Label) > labelLen {
			t.Fatalf("label %q longer than %d", v.Label, labelLen)
		}
	})
}
