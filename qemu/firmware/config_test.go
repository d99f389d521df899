package firmware

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mtools runs an mtools command with its sanity checks off (filesystems in plain files).
func mtools(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return out
}

// configPart returns "img@@offset" for mtools: the CONFIG partition inside the image.
func configPart(t *testing.T, img string) string {
	t.Helper()
	out, err := exec.Command("sgdisk", "-p", img).Output()
	if err != nil {
		t.Fatalf("sgdisk -p: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 7 && f[len(f)-1] == "CONFIG" {
			start, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return img + "@@" + strconv.FormatInt(start*512, 10)
		}
	}
	t.Fatalf("no CONFIG partition in %s:\n%s", img, out)
	return ""
}

func readConfigFile(t *testing.T, img, name string) []byte {
	t.Helper()
	return mtools(t, "mtype", "-i", configPart(t, img), "::/"+name)
}

func writeConfigFile(t *testing.T, img, name string, data []byte) {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	os.WriteFile(src, data, 0o644)
	mtools(t, "mcopy", "-o", "-i", configPart(t, img), src, "::/"+name)
}

// usbStick makes a FAT stick labelled PPTPBOX (no partition table, as many sticks are
// formatted) holding pptpbox.toml.
func usbStick(t *testing.T, config []byte) string {
	t.Helper()
	need(t, "mkfs.vfat", "mcopy")
	img := filepath.Join(t.TempDir(), "usb.img")
	if out, err := exec.Command("mkfs.vfat", "-n", "PPTPBOX", "-C", img, "16384").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.vfat: %v: %s", err, out)
	}
	src := filepath.Join(t.TempDir(), "pptpbox.toml")
	os.WriteFile(src, config, 0o644)
	mtools(t, "mcopy", "-i", img, src, "::/pptpbox.toml")
	return img
}

// directBoot boots the qemu-amd64 kernel and initramfs with test options on the command
// line, with disk as the flash (writable), optionally a USB stick.
func directBoot(t *testing.T, disk, usb, extra string, noReboot bool) *vm {
	t.Helper()
	args := append(directBootArgs(t, disk, "pptpbox.debug=1 pptpbox.test=1 "+extra), netArgs("pci")...)
	if usb != "" {
		args = append(args, "-device", "qemu-xhci", "-drive", "if=none,id=usb,format=raw,file="+usb,
			"-device", "usb-storage,drive=usb,removable=on")
	}
	if noReboot {
		args = append(args, "-no-reboot")
	}
	return startVM(t, 6*time.Minute, "qemu-system-x86_64", args...)
}

// directBootArgs are QEMU's arguments for the qemu-amd64 kernel and initramfs with extra on
// the command line, the image's disk and a watchdog; the caller adds the network.
func directBootArgs(t *testing.T, disk, extra string) []string {
	t.Helper()
	out := outDir()
	kernel, initrd := filepath.Join(out, "qemu-amd64.vmlinuz"), filepath.Join(out, "qemu-amd64.initrd.zst")
	need(t, kernel, initrd)
	return []string{"-M", "pc", "-m", "512", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0,115200n8 panic=10 loglevel=4 no_timer_check " + extra,
		"-drive", "file=" + disk + ",format=raw,if=virtio", "-device", "i6300esb"}
}

func (v *vm) waitExit(timeout time.Duration) {
	v.t.Helper()
	done := make(chan error, 1)
	go func() { done <- v.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		v.t.Fatalf("VM did not power off within %s", timeout)
	}
}

// TestConfigAtBoot walks a box through its config life: a USB stick overrides flash and is
// copied to it; a broken flash config boots the last good one and shows the error; boxd
// killed from the debug shell is restarted; reboot comes back; a watchdog that is no longer
// fed resets the box.
func TestConfigAtBoot(t *testing.T) {
	gate(t)
	need(t, "sgdisk", "mtype", "mcopy")
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	def, err := os.ReadFile(filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	usbConfig := append(append([]byte{}, def...), []byte("\n[[user]]\nname = \"usbuser\"\npassword = \"usb-secret-1\"\nip = \"*\"\n")...)

	// Boot 1: the USB stick wins and is copied to flash; once boxd has served with it for
	// the trial time (3 s here, 60 s by default), it is the last good config.
	v := directBoot(t, disk, usbStick(t, usbConfig), "pptpbox.trial=3s", true)
	m, next := v.waitFor(readyRE, 0, bootLimit)
	if m[5] != "usb" {
		t.Fatalf("config source %s, want usb", m[5])
	}
	if _, _, err := v.con.waitFor(regexp.MustCompile(`copied to flash`), 0, time.Second); err != nil {
		t.Errorf("the console does not say the USB config was copied: %v", err)
	}
	_, next = v.waitFor(regexp.MustCompile(`pptpbox.toml served for 3s: it is the last good config now`), 0, 30*time.Second)
	v.confirm("poweroff")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 30*time.Second)
	v.waitExit(30 * time.Second)
	if got := readConfigFile(t, disk, "pptpbox.toml"); !bytes.Equal(got, usbConfig) {
		t.Fatalf("flash pptpbox.toml is not the USB config:\n%s", got)
	}
	if got := readConfigFile(t, disk, "last-good.toml"); !bytes.Equal(got, usbConfig) {
		t.Fatalf("last-good.toml is not the USB config:\n%s", got)
	}

	// Boot 2: a broken flash config is not applied; the last good one runs and the console
	// shows file:line:key.
	writeConfigFile(t, disk, "pptpbox.toml", append(append([]byte{}, def...), []byte("\n[pptp.bogus]\nkey = 1\n")...))
	v = directBoot(t, disk, "", "pptpbox.watchdog=4s", false)
	errLine, _ := v.waitFor(regexp.MustCompile(`\*\*\* config: flash /config/pptpbox.toml rejected, not applied: (.*)`), 0, bootLimit)
	if !regexp.MustCompile(`pptpbox.toml:\d+`).MatchString(errLine[1]) {
		t.Errorf("error without file:line: %q", errLine[1])
	}
	m, next = v.waitFor(readyRE, 0, bootLimit)
	if m[5] != "last-good" {
		t.Fatalf("config source %s, want last-good", m[5])
	}

	// boxd killed from the debug shell comes back.
	pidRE := regexp.MustCompile(`service started" service=boxd pid=(\d+)`)
	pm, _ := v.waitFor(pidRE, 0, time.Second)
	v.send("shell")
	_, next = v.waitFor(regexp.MustCompile(`debug shell started`), next, 30*time.Second)
	v.send("kill -9 " + pm[1])
	_, next = v.waitFor(regexp.MustCompile(`service died, restarting.*killed by SIGKILL`), next, 30*time.Second)
	_, next = v.waitFor(pidRE, next, 30*time.Second)
	// The console follows the WAN address after the ready line: the address taken away
	// from the shell is reported gone (the DHCP lease from QEMU's user network lasts a day,
	// so nothing puts it back meanwhile).
	wan := strings.SplitN(m[2], ":", 2)
	if len(wan) != 2 || wan[1] == "none" {
		t.Fatalf("ready line wan=%s: want an address from QEMU's DHCP server", m[2])
	}
	// The restarted boxd binds its lease again first; the address goes after that.
	_, next = v.waitFor(regexp.MustCompile(`nat: rules follow the wan address`), next, 30*time.Second)
	v.send("ip addr del " + wan[1] + " dev " + wan[0])
	_, next = v.waitFor(regexp.MustCompile(`pptpbox wan=`+regexp.QuoteMeta(wan[0])+`:none was=`+regexp.QuoteMeta(m[2])+` `), next, 30*time.Second)
	v.send("exit")
	_, next = v.waitFor(regexp.MustCompile(`debug shell ended`), next, 30*time.Second)

	// reboot comes back.
	v.confirm("reboot")
	_, next = v.waitFor(regexp.MustCompile(`pptpbox: reboot`), next, 60*time.Second)
	_, next = v.waitFor(readyRE, next, bootLimit)

	// The watchdog resets a box whose init stops feeding it.
	v.send("test-watchdog-hang")
	_, next = v.waitFor(regexp.MustCompile(`watchdog: no longer fed`), next, 30*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`msg="pptpbox init"`), next, 60*time.Second)
	v.waitFor(readyRE, next, bootLimit)
}
