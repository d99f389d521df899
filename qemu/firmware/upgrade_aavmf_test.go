package firmware

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUpgradeAAVMF is the A/B upgrade on the qemu-arm64 image under EDK2 (AAVMF), one
// QEMU run of one disk: a USB stick holds the second build (PPTPBOX_OUT_NEXT), slot A
// installs it into B at boot, GRUB (arm64-efi) tries B once, B's trial commits it; then
// `upgrade FILE` on the console installs an update whose initramfs is junk into A: the
// kernel panics, and the reset lands on B by GRUB's one-shot, B saying A never reached
// its init. GRUB's save_env on the FAT boot partition is what this checks under UEFI.
func TestUpgradeAAVMF(t *testing.T) {
	gate(t)
	const board = "qemu-arm64"
	fw := "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
	need(t, fw, "sgdisk", "mtype", "mcopy", "mkfs.vfat")
	disk := copyImage(t, imageFor(t, board))
	key := signingKey(t)
	next := nextBuild(t)
	vX := strings.TrimSpace(string(readFile(t, filepath.Join(outDir(), board+".version"))))
	vY := strings.TrimSpace(string(readFile(t, filepath.Join(next, board+".version"))))
	if vX == vY {
		t.Fatalf("both builds are version %s", vX)
	}
	updY := buildUpdate(t, key, board, next, "", nil)
	junk := buildUpdate(t, key, board, outDir(), "vjunk", []byte("this is not an initramfs"))
	setGrubEnv(t, disk, "pptpbox.debug=1 pptpbox.test=1 pptpbox.trial=3s pptpbox.watchdog=10s")
	writeConfigFile(t, disk, "last-good.toml", readConfigFile(t, disk, "pptpbox.toml"))
	configBefore := partition(t, disk, "CONFIG")

	usb := stick(t, map[string][]byte{"pptpbox-" + board + "-" + vY + ".upd": updY, "junk.bin": junk})
	args := append([]string{"-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "512", "-bios", fw,
		"-drive", "file=" + disk + ",format=raw,if=virtio", "-device", "i6300esb",
		"-device", "qemu-xhci", "-drive", "if=none,id=usb,format=raw,file=" + usb,
		"-device", "usb-storage,drive=usb,removable=on"}, netArgs("pci")...)
	v := startVM(t, 12*time.Minute, "qemu-system-aarch64", args...)
	qX, qY := regexp.QuoteMeta(vX), regexp.QuoteMeta(vY)
	_, at := v.waitFor(regexp.MustCompile(`upgrade: slot B holds `+qY+` now; rebooting to try it`), 0, 2*bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, 2*bootLimit)
	m, at := v.waitFor(slotReadyRE, at, 2*bootLimit)
	if m[1] != vY || m[4] != board || m[7] != "B" || m[8] != "A:"+vX+",B:"+vY {
		t.Fatalf("ready line after the upgrade: %s", m[0])
	}
	_, at = v.waitFor(regexp.MustCompile(`pptpbox upgrade: slot B \(`+qY+`\) from usb: good \(was slot A \(`+qX+`\)\); slot B is committed`), at, bootLimit)

	v.send("upgrade /mnt/usb/junk.bin")
	_, at = v.waitFor(regexp.MustCompile(`upgrade: slot A holds vjunk now; rebooting to try it`), at, 2*bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot A`), at, 2*bootLimit)
	trial := v.con.arrived(at - 1)
	_, at = v.waitFor(regexp.MustCompile(`Kernel panic`), at, 2*bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, 2*bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`\*\*\* upgrade: slot A \(vjunk\) failed, back on slot B \(`+qY+`\): slot A never reached its init`), at, 2*bootLimit)
	m, at = v.waitFor(slotReadyRE, at, 2*bootLimit)
	back := v.con.arrived(at - 1).Sub(trial)
	if m[1] != vY || m[7] != "B" || m[8] != "A:vjunk,B:"+vY {
		t.Fatalf("ready line after the rollback: %s", m[0])
	}
	t.Logf("AAVMF, a kernel that panics: from GRUB booting slot A to slot B's ready line: %s", back.Round(100*time.Millisecond))
	poweroff(v, at)
	env := readGrubEnv(t, disk)
	if env["pptpbox_slot"] != "B" || env["pptpbox_try"] != "" {
		t.Errorf("grubenv at the end: %q", env)
	}
	sameConfig(t, disk, configBefore)
}
