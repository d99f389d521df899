package image

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pptpbox/pptpbox/firmware/grubenv"
)

const (
	sector = 512
	mib    = 1 << 20
)

// partition is one GPT entry of the image.
type partition struct {
	Num      int
	Name     string
	Type     string // sgdisk type code
	StartMiB int
	SizeMiB  int
	Content  string // file copied into the partition; "" for none
}

func (p partition) startLBA() int64 { return int64(p.StartMiB) * mib / sector }

// layout returns the partitions for the board: an optional 1 MiB BIOS boot partition that
// holds GRUB's core.img (GPT disks have no post-MBR gap), the boot partition (an EFI system
// partition, FAT32, with room for slots A and B) and the CONFIG partition (FAT, Microsoft
// basic data so that any PC opens it).
func (b *builder) layout() []partition {
	im := b.board.Image
	start := im.FirstMiB
	if start == 0 {
		start = 1
	}
	var ps []partition
	if b.board.HasLoader("i386-pc") {
		ps = append(ps, partition{Name: "bios-boot", Type: "EF02", StartMiB: start, SizeMiB: 1})
		start++
	}
	ps = append(ps, partition{Name: "boot", Type: "EF00", StartMiB: start, SizeMiB: im.BootMiB})
	start += im.BootMiB
	ps = append(ps, partition{Name: "CONFIG", Type: "0700", StartMiB: start, SizeMiB: im.ConfigMiB})
	for i := range ps {
		ps[i].Num = i + 1
	}
	return ps
}

// stableID derives a fixed identifier from the board name and a purpose, so that two builds
// give identical images (GPT GUIDs and FAT volume IDs are random by default).
func (b *builder) stableID(purpose string) [16]byte {
	sum := sha256.Sum256([]byte("pptpbox/" + b.board.Name + "/" + purpose))
	var id [16]byte
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x40 // RFC 9562 §5.4 version 4 layout, variant 10
	id[8] = id[8]&0x3f | 0x80
	return id
}

func (b *builder) guid(purpose string) string {
	id := b.stableID(purpose)
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

func (b *builder) volumeID(purpose string) string {
	id := b.stableID(purpose)
	return fmt.Sprintf("%08x", binary.BigEndian.Uint32(id[:4]))
}

// mtoolsEnv makes mtools deterministic (directory timestamps) and skips its sanity checks,
// which reject filesystems in plain files.
func (b *builder) mtoolsEnv() []string {
	return append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "SOURCE_DATE_EPOCH="+strconv.FormatInt(b.opt.Epoch, 10), "TZ=UTC")
}

// makeFAT creates a FAT filesystem image of sizeMiB holding files (dest path in the
// filesystem -> host path) and the empty directories dirs.
func (b *builder) makeFAT(ctx context.Context, path, label string, fat32 bool, sizeMiB int, dirs []string, files [][2]string) error {
	os.Remove(path)
	args := []string{"-n", label, "-i", b.volumeID(label), "--invariant", "-C", path, strconv.Itoa(sizeMiB * 1024)}
	if fat32 {
		args = append([]string{"-F", "32", "-s", "1"}, args...)
	}
	if _, err := b.run(ctx, "", nil, "mkfs.vfat", args...); err != nil {
		return fmt.Errorf("mkfs.vfat %s: %w", label, err)
	}
	env := b.mtoolsEnv()
	for _, d := range dirs {
		if _, err := b.run(ctx, "", env, "mmd", "-i", path, "::/"+d); err != nil {
			return fmt.Errorf("mmd %s: %w", d, err)
		}
	}
	stamp := time.Unix(b.opt.Epoch, 0)
	for _, f := range files {
		// mcopy -m keeps the source's mtime; give every source the build's timestamp.
		if err := os.Chtimes(f[1], stamp, stamp); err != nil {
			return err
		}
		if _, err := b.run(ctx, "", env, "mcopy", "-m", "-o", "-i", path, f[1], "::/"+f[0]); err != nil {
			return fmt.Errorf("mcopy %s: %w", f[0], err)
		}
	}
	return nil
}

// writeGPT partitions the image file with fixed GUIDs.
func (b *builder) writeGPT(ctx context.Context, img string, ps []partition) error {
	args := []string{"-U", b.guid("disk")}
	for _, p := range ps {
		n := strconv.Itoa(p.Num)
		start := p.startLBA()
		end := start + int64(p.SizeMiB)*mib/sector - 1
		args = append(args,
			"-n", fmt.Sprintf("%s:%d:%d", n, start, end),
			"-t", n+":"+p.Type,
			"-c", n+":"+p.Name,
			"-u", n+":"+b.guid("part/"+p.Name))
	}
	args = append(args, img)
	if _, err := b.run(ctx, "", nil, "sgdisk", args...); err != nil {
		return fmt.Errorf("sgdisk: %w", err)
	}
	return nil
}

// writeAt copies the file src into img at byte offset off (dd conv=notrunc).
func writeAt(img *os.File, src string, off int64, limit int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if st.Size() > limit {
		return fmt.Errorf("%s: %d bytes do not fit in %d", src, st.Size(), limit)
	}
	_, err = io.Copy(io.NewOffsetWriter(img, off), in)
	return err
}

// Offsets in GRUB's i386-pc boot.img and in the first sector of core.img (diskboot.img) that
// grub-bios-setup patches (grub-core/boot/i386/pc/boot.S, include/grub/i386/pc/boot.h).
// These are x86 boot-sector structures: little-endian by definition.
const (
	bootKernelSector = 0x5c  // uint64: LBA of core.img's first sector
	bootDriveCheck   = 0x66  // 2-byte jmp replaced by two NOPs for hard disks
	mbrCodeSize      = 440   // boot code; the disk signature and partition table follow
	coreBlocklist    = 0x1f4 // last 12 bytes of diskboot's sector: {start u64, len u16, segment u16}
	coreLoadSegment  = 0x820 // GRUB_BOOT_I386_PC_KERNEL_SEG + one sector, in paragraphs
)

// installBIOS does what grub-bios-setup does for a GPT disk with a BIOS boot partition:
// boot.img's code in the MBR pointing at core.img, and core.img's first blocklist pointing
// at the rest of itself, all inside the BIOS boot partition.
func installBIOS(img *os.File, bootImg, coreImg string, biosPart partition) error {
	boot, err := os.ReadFile(bootImg)
	if err != nil {
		return err
	}
	if len(boot) != sector {
		return fmt.Errorf("grub boot.img: %d bytes, want %d", len(boot), sector)
	}
	core, err := os.ReadFile(coreImg)
	if err != nil {
		return err
	}
	coreSectors := (len(core) + sector - 1) / sector
	if int64(coreSectors)*sector > int64(biosPart.SizeMiB)*mib {
		return fmt.Errorf("grub core.img: %d bytes do not fit the BIOS boot partition", len(core))
	}
	core = append(core, make([]byte, coreSectors*sector-len(core))...)
	start := biosPart.startLBA()
	binary.LittleEndian.PutUint64(core[coreBlocklist:], uint64(start+1))
	binary.LittleEndian.PutUint16(core[coreBlocklist+8:], uint16(coreSectors-1))
	binary.LittleEndian.PutUint16(core[coreBlocklist+10:], coreLoadSegment)
	if _, err := img.WriteAt(core, start*sector); err != nil {
		return err
	}
	mbr := make([]byte, sector)
	if _, err := img.ReadAt(mbr, 0); err != nil {
		return err
	}
	copy(mbr[:mbrCodeSize], boot[:mbrCodeSize])
	binary.LittleEndian.PutUint64(mbr[bootKernelSector:], uint64(start))
	mbr[bootDriveCheck], mbr[bootDriveCheck+1] = 0x90, 0x90
	_, err = img.WriteAt(mbr, 0)
	return err
}

// assembleDisk writes the whole image: GPT, boot partition, CONFIG partition, BIOS loader.
func (b *builder) assembleDisk(ctx context.Context, imgPath string, art *artifacts) error {
	ps := b.layout()
	os.Remove(imgPath)
	f, err := os.OpenFile(imgPath, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(b.board.Image.DiskMiB) * mib); err != nil {
		return err
	}
	if err := b.writeGPT(ctx, imgPath, ps); err != nil {
		return err
	}
	work := b.opt.Work
	grubCfg := filepath.Join(work, "grub.cfg")
	if err := os.WriteFile(grubCfg, []byte(b.grubConfig()), 0o644); err != nil {
		return err
	}
	versionFile := filepath.Join(work, "VERSION")
	if err := os.WriteFile(versionFile, []byte(fmt.Sprintf("pptpbox %s board=%s kernel=%s\n", b.opt.Version, b.board.Name, art.kernel.Version)), 0o644); err != nil {
		return err
	}
	// grubenv: GRUB rewrites it in place and cannot create it, so it is made here, with
	// slot A committed and no trial pending.
	envFile := filepath.Join(work, "grubenv")
	env, err := grubenv.Env{"pptpbox_slot": "A"}.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(envFile, env, 0o644); err != nil {
		return err
	}
	slotVersion := filepath.Join(work, "slot-version")
	if err := os.WriteFile(slotVersion, []byte(b.opt.Version+"\n"), 0o644); err != nil {
		return err
	}
	bootDirs := []string{"grub", "A", "B"}
	bootFiles := [][2]string{
		{"grub/grub.cfg", grubCfg},
		{"grub/grubenv", envFile},
		{"A/vmlinuz", art.vmlinuz},
		{"A/initrd.zst", art.initrd},
		{"A/VERSION", slotVersion},
		{"VERSION", versionFile},
	}
	if art.dtb != "" {
		bootFiles = append(bootFiles, [2]string{"A/board.dtb", art.dtb})
	}
	hasEFI := false
	for l, p := range art.grub {
		if e := grubPlatforms[l].EFIFile; e != "" {
			hasEFI = true
			bootFiles = append(bootFiles, [2]string{e, p})
		}
	}
	if hasEFI {
		bootDirs = append([]string{"EFI", "EFI/BOOT"}, bootDirs...)
	}
	for _, p := range ps {
		switch p.Name {
		case "boot":
			p.Content = filepath.Join(work, "boot.fat")
			if err := b.makeFAT(ctx, p.Content, BootLabel, true, p.SizeMiB, bootDirs, bootFiles); err != nil {
				return err
			}
		case "CONFIG":
			p.Content = filepath.Join(work, "config.fat")
			cfgFiles := [][2]string{{"pptpbox.toml", art.defaultConfig}}
			if err := b.makeFAT(ctx, p.Content, ConfigLabel, false, p.SizeMiB, nil, cfgFiles); err != nil {
				return err
			}
		case "bios-boot":
			if err := installBIOS(f, art.bootImg, art.grub["i386-pc"], p); err != nil {
				return err
			}
			continue
		}
		if err := writeAt(f, p.Content, p.startLBA()*sector, int64(p.SizeMiB)*mib); err != nil {
			return err
		}
	}
	return f.Sync()
}
