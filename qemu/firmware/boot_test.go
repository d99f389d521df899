package firmware

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// bootLimit is the generous limit on time to ready under TCG (measured 15-20 s).
const bootLimit = 120 * time.Second

func recordBoot(t *testing.T, v *vm, m []string) {
	t.Helper()
	wall := time.Since(v.start)
	t.Logf("ready after %s wall (guest uptime %ss): %s", wall.Round(100*time.Millisecond), m[6], m[0])
	f, err := os.OpenFile(filepath.Join(outDir(), "boot-times.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(f, "%s\t%.1fs wall\tuptime %ss\t%s\n", t.Name(), wall.Seconds(), m[6], time.Now().UTC().Format(time.RFC3339))
		f.Close()
	}
	if up, _ := strconv.ParseFloat(m[6], 64); up <= 0 {
		t.Errorf("ready line has no uptime: %q", m[0])
	}
}

// checkRouterAddrs checks the ready line of a box on netArgs with the embedded default
// config: the WAN holds the lease of QEMU's user-network DHCP server (10.0.2.15/24), the LAN
// the default's static 192.168.1.1/24.
func checkRouterAddrs(t *testing.T, m []string) {
	t.Helper()
	if got, want := m[2], "wan:10.0.2.15/24"; got != want {
		t.Errorf("ready line wan=%s, want %s (DHCP from QEMU user networking)", got, want)
	}
	if got, want := m[3], "lan:192.168.1.1/24"; got != want {
		t.Errorf("ready line lan=%s, want %s (the default config)", got, want)
	}
}

func TestBootSeaBIOS(t *testing.T) {
	gate(t)
	img := imageFor(t, "qemu-amd64")
	args := append([]string{"-M", "pc", "-m", "512",
		"-drive", "file=" + img + ",format=raw,if=virtio,snapshot=on",
		"-device", "i6300esb"}, netArgs("pci")...)
	v := startVM(t, bootLimit+30*time.Second, "qemu-system-x86_64", args...)
	m, _ := v.waitFor(readyRE, 0, bootLimit)
	recordBoot(t, v, m)
	checkRouterAddrs(t, m)
	if m[4] != "qemu-amd64" || m[5] != "flash" {
		t.Errorf("board %s config %s, want qemu-amd64 from flash", m[4], m[5])
	}
}

func TestBootOVMF(t *testing.T) {
	gate(t)
	img := imageFor(t, "qemu-amd64")
	fw := "/usr/share/ovmf/OVMF.fd"
	need(t, fw)
	// 512 MiB: GRUB under OVMF runs out of memory loading the kernel at 256 MiB.
	args := append([]string{"-M", "q35", "-m", "512", "-bios", fw,
		"-drive", "file=" + img + ",format=raw,if=virtio,snapshot=on",
		"-device", "i6300esb"}, netArgs("pci")...)
	v := startVM(t, bootLimit+30*time.Second, "qemu-system-x86_64", args...)
	m, _ := v.waitFor(readyRE, 0, bootLimit)
	recordBoot(t, v, m)
	checkRouterAddrs(t, m)
}

func TestBootAAVMF(t *testing.T) {
	gate(t)
	img := imageFor(t, "qemu-arm64")
	fw := "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
	need(t, fw)
	// pauth-impdef: QEMU's default pointer-authentication algorithm is slow under TCG.
	args := append([]string{"-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "512", "-bios", fw,
		"-drive", "file=" + img + ",format=raw,if=virtio,snapshot=on",
		"-device", "i6300esb"}, netArgs("pci")...)
	v := startVM(t, bootLimit+30*time.Second, "qemu-system-aarch64", args...)
	m, _ := v.waitFor(readyRE, 0, bootLimit)
	recordBoot(t, v, m)
	checkRouterAddrs(t, m)
	if m[4] != "qemu-arm64" {
		t.Errorf("board %s", m[4])
	}
}

// initramfsBudget is the most the compressed initramfs may weigh (README states it).
const initramfsBudget = 8 << 20

func TestInitramfsBudget(t *testing.T) {
	gate(t)
	for _, b := range []string{"qemu-amd64", "qemu-arm64"} {
		p := filepath.Join(outDir(), b+".initrd.zst")
		need(t, p)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: compressed initramfs %d bytes (%.2f MiB), budget %d MiB", b, st.Size(), float64(st.Size())/(1<<20), initramfsBudget>>20)
		if st.Size() > initramfsBudget {
			t.Errorf("%s: compressed initramfs %d bytes exceeds the %d-byte budget", b, st.Size(), initramfsBudget)
		}
	}
}
