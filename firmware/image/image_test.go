package image

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/firmware/board"
)

func testBuilder(t *testing.T, loaders ...string) *builder {
	t.Helper()
	arch := "amd64"
	if loaders[0] == "arm64-efi" {
		arch = "arm64"
	}
	return &builder{opt: Options{Version: "v1.2.3", Epoch: 1704067200}, board: &board.Board{
		Name: "t", Arch: arch,
		Kernel:  board.Kernel{Cmdline: "console=ttyS0,115200n8 panic=10"},
		Console: board.Console{Device: "ttyS0", Baud: 115200},
		Image:   board.Image{DiskMiB: 128, BootMiB: 96, ConfigMiB: 16, Loaders: loaders},
	}}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		loaders []string
		first   int
		want    string // name@startMiB+size ...
	}{
		{[]string{"i386-pc", "x86_64-efi"}, 0, "bios-boot@1+1 boot@2+96 CONFIG@98+16"},
		{[]string{"arm64-efi"}, 0, "boot@1+96 CONFIG@97+16"},
		{[]string{"arm64-efi"}, 16, "boot@16+96 CONFIG@112+16"},
	}
	for _, tt := range tests {
		b := testBuilder(t, tt.loaders...)
		b.board.Image.FirstMiB = tt.first
		var got []string
		for i, p := range b.layout() {
			if p.Num != i+1 {
				t.Errorf("partition %d numbered %d", i, p.Num)
			}
			got = append(got, p.Name+"@"+itoa(p.StartMiB)+"+"+itoa(p.SizeMiB))
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%v: got %s, want %s", tt.loaders, s, tt.want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestStableIDs(t *testing.T) {
	a, b := testBuilder(t, "i386-pc"), testBuilder(t, "i386-pc")
	if a.guid("disk") != b.guid("disk") || a.volumeID("CONFIG") != b.volumeID("CONFIG") {
		t.Fatal("IDs differ between two builders of the same board")
	}
	if a.guid("disk") == a.guid("part/boot") {
		t.Fatal("disk and partition GUIDs collide")
	}
	g := a.guid("disk")
	if len(g) != 36 || g[14] != '4' || !strings.ContainsRune("89ab", rune(g[19])) {
		t.Errorf("GUID %s is not RFC 9562 version 4 shaped", g)
	}
	if len(a.volumeID("CONFIG")) != 8 {
		t.Errorf("volume ID %q", a.volumeID("CONFIG"))
	}
}

func TestGrubConfig(t *testing.T) {
	b := testBuilder(t, "i386-pc", "x86_64-efi")
	cfg := b.grubConfig()
	for _, want := range []string{
		"serial --unit=0 --speed=115200",
		"linux /$slot/vmlinuz console=ttyS0,115200n8 panic=10 pptpbox.slot=$slot $pptpbox_args",
		"linux /$slot/vmlinuz console=ttyS0,115200n8 panic=10 pptpbox.slot=$slot pptpbox.factory_reset=1 $pptpbox_args",
		"initrd /$slot/initrd.zst",
		"linux16 /$slot/vmlinuz console=ttyS0,115200n8 panic=10 pptpbox.slot=$slot $pptpbox_args",
		"initrd16 /$slot/initrd.zst",
		"load_env --file $env pptpbox_slot pptpbox_try pptpbox_args",
		"save_env --file $env pptpbox_try",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("grub.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "devicetree") {
		t.Error("devicetree without a dtb")
	}
	b.board.Kernel.DTB = "rockchip/x.dtb"
	b.board.Console.Device = "ttyAMA0"
	b.board.Image.Loaders = []string{"arm64-efi"}
	cfg = b.grubConfig()
	if !strings.Contains(cfg, "devicetree /$slot/board.dtb") || strings.Contains(cfg, "serial --unit") || strings.Contains(cfg, "linux16") {
		t.Errorf("arm grub.cfg wrong:\n%s", cfg)
	}
}

func TestInstallBIOS(t *testing.T) {
	dir := t.TempDir()
	boot := make([]byte, 512)
	for i := range boot {
		boot[i] = 0xB0
	}
	core := make([]byte, 3*512+100) // 4 sectors once padded
	os.WriteFile(filepath.Join(dir, "boot.img"), boot, 0o644)
	os.WriteFile(filepath.Join(dir, "core.img"), core, 0o644)
	f, err := os.Create(filepath.Join(dir, "disk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Truncate(4 * mib)
	mbr := make([]byte, 512)
	mbr[446+4] = 0xEE // protective MBR partition type
	mbr[510], mbr[511] = 0x55, 0xAA
	f.WriteAt(mbr, 0)
	part := partition{Name: "bios-boot", StartMiB: 1, SizeMiB: 1}
	if err := installBIOS(f, filepath.Join(dir, "boot.img"), filepath.Join(dir, "core.img"), part); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 512)
	f.ReadAt(got, 0)
	if binary.LittleEndian.Uint64(got[bootKernelSector:]) != 2048 {
		t.Errorf("kernel sector %d", binary.LittleEndian.Uint64(got[bootKernelSector:]))
	}
	if got[bootDriveCheck] != 0x90 || got[bootDriveCheck+1] != 0x90 {
		t.Error("drive check not NOPed")
	}
	if got[446+4] != 0xEE || got[510] != 0x55 || got[0] != 0xB0 {
		t.Error("partition table or boot code wrong")
	}
	c := make([]byte, 512)
	f.ReadAt(c, 2048*512)
	if s, n, seg := binary.LittleEndian.Uint64(c[coreBlocklist:]), binary.LittleEndian.Uint16(c[coreBlocklist+8:]), binary.LittleEndian.Uint16(c[coreBlocklist+10:]); s != 2049 || n != 3 || seg != 0x820 {
		t.Errorf("blocklist start %d len %d seg %#x", s, n, seg)
	}
	big := make([]byte, mib+1)
	os.WriteFile(filepath.Join(dir, "core.img"), big, 0o644)
	if err := installBIOS(f, filepath.Join(dir, "boot.img"), filepath.Join(dir, "core.img"), part); err == nil {
		t.Error("oversized core.img accepted")
	}
}

func TestDebHelpers(t *testing.T) {
	f := debFields([]byte("Package: linux-image-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\nDescription: x\n more\n\nPackage: other\n"))
	if f["Version"] != "6.1.192-2" || !strings.HasPrefix(f["Depends"], "linux-image-6.1.0-56-amd64") || f["Package"] != "linux-image-amd64" {
		t.Errorf("fields %v", f)
	}
	for name, meta := range map[string]bool{"linux-image-amd64": true, "linux-image-arm64": true, "linux-image-6.1.0-56-amd64": false, "grub-pc-bin": false} {
		if isMetaKernel(name) != meta {
			t.Errorf("isMetaKernel(%s) = %v", name, !meta)
		}
	}
	if n := (debRef{Name: "a", Arch: "arm64", Version: "1:2.0"}).fileName(); n != "a_1%3a2.0_arm64.deb" {
		t.Errorf("fileName %s", n)
	}
}

// TestMissingDaemon: an image without boxd is useless; the build must stop and say why.
func TestMissingDaemon(t *testing.T) {
	b := testBuilder(t, "i386-pc")
	b.opt.Repo = t.TempDir()
	b.opt.Work = t.TempDir()
	err := b.buildMulticall(t.Context(), filepath.Join(t.TempDir(), "init"))
	if err == nil || !strings.Contains(err.Error(), "./cmd/boxd does not exist") {
		t.Fatalf("got %v", err)
	}
}
