package firmware

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readyMissingRE is the end of a degraded box's ready line.
var readyMissingRE = regexp.MustCompile(`pptpbox ready .* missing=(\S+)$`)

// degradedBoot boots the qemu-amd64 kernel and initramfs on a snapshot of the image with
// the given network devices, and a QEMU monitor on a unix socket (for device_add).
func degradedBoot(t *testing.T, netArgs ...string) (*vm, string) {
	t.Helper()
	out := outDir()
	kernel, initrd := filepath.Join(out, "qemu-amd64.vmlinuz"), filepath.Join(out, "qemu-amd64.initrd.zst")
	need(t, kernel, initrd)
	img := imageFor(t, "qemu-amd64")
	mon := filepath.Join(t.TempDir(), "mon.sock")
	args := []string{"-M", "pc", "-m", "512", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0,115200n8 panic=10 loglevel=4 no_timer_check",
		"-drive", "file=" + img + ",format=raw,if=virtio,snapshot=on", "-device", "i6300esb",
		"-qmp", "unix:" + mon + ",server=on,wait=off"}
	if len(netArgs) == 0 {
		args = append(args, "-nic", "none")
	}
	args = append(args, netArgs...)
	return startVM(t, 5*time.Minute, "qemu-system-x86_64", args...), mon
}

// qmp runs QMP commands (JSON lines) on the monitor socket and returns what it answered.
func qmp(t *testing.T, sock string, cmds ...string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("qmp: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var got strings.Builder
	buf := make([]byte, 4096)
	read := func() {
		n, _ := c.Read(buf)
		got.Write(buf[:n])
	}
	read() // greeting
	for _, cmd := range append([]string{`{"execute":"qmp_capabilities"}`}, cmds...) {
		c.Write([]byte(cmd + "\n"))
		time.Sleep(300 * time.Millisecond)
		read()
	}
	return got.String()
}

// TestDegradedPorts boots the qemu-amd64 image with NICs missing. The box serves with what
// it has instead of looping on boxd: no NIC at all, then only the WAN's. The ready line comes
// within the usual time and names what is missing, `status` says it, boxd is never
// restarted; a LAN card hot-plugged later (QMP device_add) takes the LAN role and boxd brings
// the port up with the config's address.
func TestDegradedPorts(t *testing.T) {
	gate(t)
	t.Run("no NICs", func(t *testing.T) {
		v, _ := degradedBoot(t)
		m, next := v.waitFor(readyRE, 0, bootLimit)
		recordBoot(t, v, m)
		if m[2] != "missing" || m[3] != "missing" {
			t.Errorf("ready line wan=%s lan=%s, want both missing", m[2], m[3])
		}
		if mm, _, err := v.con.waitFor(readyMissingRE, next-1, time.Second); err != nil || mm[1] != "wan,lan" {
			t.Errorf("ready line does not end in missing=wan,lan: %q (%v)", m[0], err)
		}
		if _, _, err := v.con.waitFor(regexp.MustCompile(`\*\*\* pptpbox degraded: no lan port \(interface lan absent\)`), 0, time.Second); err != nil {
			t.Errorf("no degraded banner naming the lan port: %v", err)
		}
		v.send("status")
		v.waitFor(regexp.MustCompile(`wan missing$`), next, 30*time.Second)
		v.waitFor(regexp.MustCompile(`lan port missing: want interface #1 with driver "virtio_net"`), next, 30*time.Second)
		_, next = v.waitFor(regexp.MustCompile(`boxd: running pid \d+ .*\(restarts 0\)`), next, 30*time.Second)
		// Ten more seconds: boxd must not die (it did at every start before).
		if _, _, err := v.con.waitFor(regexp.MustCompile(`service died|service stopped`), 0, 10*time.Second); err == nil {
			t.Errorf("boxd died on a box with no NICs:\n%s", v.con.tail(40))
		}
	})
	t.Run("WAN only then LAN plugged", func(t *testing.T) {
		v, mon := degradedBoot(t, "-netdev", "user,id=wan", "-device", "virtio-net-pci,netdev=wan,addr=0x4",
			"-netdev", "user,id=lan,restrict=on")
		m, next := v.waitFor(readyRE, 0, bootLimit)
		recordBoot(t, v, m)
		if m[2] != "wan:10.0.2.15/24" || m[3] != "missing" {
			t.Errorf("ready line wan=%s lan=%s, want the WAN's lease and lan missing", m[2], m[3])
		}
		if mm, _, err := v.con.waitFor(readyMissingRE, next-1, time.Second); err != nil || mm[1] != "lan" {
			t.Errorf("ready line does not end in missing=lan: %q (%v)", m[0], err)
		}
		// The LAN card arrives (a USB NIC plugged in, in spirit): the init renames it to
		// lan, boxd's router sees it and puts the config's address on it.
		out := qmp(t, mon, `{"execute":"device_add","arguments":{"driver":"virtio-net-pci","netdev":"lan","id":"lan1","addr":"0x8"}}`)
		if strings.Contains(out, `"error"`) {
			t.Fatalf("device_add: %s", out)
		}
		_, next = v.waitFor(regexp.MustCompile(`pptpbox port lan=lan appeared \(was \w+\)`), next, 60*time.Second)
		deadline := time.Now().Add(30 * time.Second)
		for {
			v.send("status")
			if _, n, err := v.con.waitFor(regexp.MustCompile(`lan lan:192\.168\.1\.1/24$`), next, 3*time.Second); err == nil {
				next = n
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the plugged LAN port never got its address:\n%s", v.con.tail(40))
			}
		}
		if _, _, err := v.con.waitFor(regexp.MustCompile(`service died|service stopped`), 0, time.Second); err == nil {
			t.Errorf("boxd died:\n%s", v.con.tail(40))
		}
	})
}

// TestUSBStickBothArches: a FAT stick labelled PPTPBOX on QEMU's xHCI is the config source on
// qemu-amd64 (kernel and initramfs) and on qemu-arm64 booted from its disk image under AAVMF,
// the machine of the report (the arm64 image used to boot from flash: its kernel has
// sd_mod as a module and the board did not load it, and the init looked for 2 s only).
func TestUSBStickBothArches(t *testing.T) {
	gate(t)
	def, err := os.ReadFile(filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	stickConfig := append(append([]byte{}, def...), []byte("\n[[user]]\nname = \"stick\"\npassword = \"stick-secret-1\"\nip = \"*\"\n")...)
	usb := func(stick string) []string {
		return []string{"-device", "qemu-xhci,id=xhci", "-drive", "if=none,id=usbstick,format=raw,file=" + stick,
			"-device", "usb-storage,bus=xhci.0,drive=usbstick,removable=on"}
	}
	check := func(t *testing.T, v *vm) {
		t.Helper()
		m, _ := v.waitFor(readyRE, 0, bootLimit)
		recordBoot(t, v, m)
		if m[5] != "usb" {
			t.Errorf("config=%s, want usb", m[5])
		}
		if s, _, err := v.con.waitFor(regexp.MustCompile(`usb settled" after=(\S+) devices=\d+ disks=(\S*) stick=(\S*)`), 0, time.Second); err == nil {
			t.Logf("usb settled after %s, disks %q, stick %q", s[1], s[2], s[3])
		}
	}
	t.Run("amd64", func(t *testing.T) {
		out := outDir()
		kernel, initrd := filepath.Join(out, "qemu-amd64.vmlinuz"), filepath.Join(out, "qemu-amd64.initrd.zst")
		need(t, kernel, initrd)
		args := append([]string{"-M", "pc", "-m", "512", "-kernel", kernel, "-initrd", initrd,
			"-append", "console=ttyS0,115200n8 panic=10 loglevel=4 no_timer_check",
			"-drive", "file=" + imageFor(t, "qemu-amd64") + ",format=raw,if=virtio,snapshot=on", "-device", "i6300esb"},
			netArgs("pci")...)
		check(t, startVM(t, bootLimit+30*time.Second, "qemu-system-x86_64", append(args, usb(usbStick(t, stickConfig))...)...))
	})
	t.Run("arm64 AAVMF", func(t *testing.T) {
		fw := "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
		need(t, fw)
		args := append([]string{"-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "512", "-bios", fw,
			"-drive", "file=" + imageFor(t, "qemu-arm64") + ",format=raw,if=virtio,snapshot=on", "-device", "i6300esb"},
			netArgs("pci")...)
		check(t, startVM(t, bootLimit+30*time.Second, "qemu-system-aarch64", append(args, usb(usbStick(t, stickConfig))...)...))
	})
}
