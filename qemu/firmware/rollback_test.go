package firmware

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConfigRollback: a new config becomes last good only after boxd has served with it.
// With a last good config on flash and no pptpbox.toml:
//
//  1. a USB config naming a port the board does not have (wan.interface = "eth0") is
//     rejected by `boxd check -on-box`: the console says which key, the box runs the last
//     good config;
//  2. a USB config that validates but that boxd fails with (pptp.tun = "lo": not a TUN
//     device) is tried, boxd exits three times, the box goes back to the last good config and
//     the console says why; last-good.toml is unchanged and the failure is recorded;
//  3. without the stick, the flash copy of that config is skipped at once, with the reason.
func TestConfigRollback(t *testing.T) {
	gate(t)
	need(t, "sgdisk", "mtype", "mcopy", "mdel")
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	defB, err := os.ReadFile(filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	def := string(defB)
	lastGood := []byte(def + "\n[[user]]\nname = \"lastgood\"\npassword = \"last-good-1\"\nip = \"*\"\n")
	writeConfigFile(t, disk, "last-good.toml", lastGood)
	mtools(t, "mdel", "-i", configPart(t, disk), "::/pptpbox.toml")

	// Boot 1: a port the board does not have.
	eth0 := strings.Replace(def, "interface = \"wan\"", "interface = \"eth0\"", 1)
	v := directBoot(t, disk, usbStick(t, []byte(eth0)), "pptpbox.trial=3s", true)
	m, next := v.waitFor(regexp.MustCompile(`\*\*\* config: USB /mnt/usb/pptpbox.toml rejected, not applied: (.*)`), 0, bootLimit)
	if !regexp.MustCompile(`pptpbox.toml:\d+: wan.interface: no interface "eth0" on this system`).MatchString(m[1]) {
		t.Errorf("rejection does not name the key: %q", m[1])
	}
	m, next = v.waitFor(readyRE, next, bootLimit)
	if m[5] != "last-good" {
		t.Fatalf("config source %s, want last-good", m[5])
	}
	v.confirm("poweroff")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 30*time.Second)
	v.waitExit(30 * time.Second)

	// Boot 2: valid, but boxd cannot run with it.
	lo := strings.Replace(def, "[pptp]\n", "[pptp]\ntun = \"lo\"\n", 1)
	v = directBoot(t, disk, usbStick(t, []byte(lo)), "pptpbox.trial=3s", true)
	m, next = v.waitFor(regexp.MustCompile(`\*\*\* config: usb /mnt/usb/pptpbox.toml failed at runtime, back to last-good /config/last-good.toml: (.*)`), 0, bootLimit)
	if !strings.Contains(m[1], "boxd exited 3 times") || !strings.Contains(m[1], "tun") {
		t.Errorf("rollback reason %q: want the exits and boxd's error", m[1])
	}
	m, next = v.waitFor(readyRE, next, bootLimit)
	if m[5] != "last-good" {
		t.Fatalf("config source %s after the rollback, want last-good", m[5])
	}
	v.confirm("poweroff")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 30*time.Second)
	v.waitExit(30 * time.Second)
	if got := readConfigFile(t, disk, "last-good.toml"); string(got) != string(lastGood) {
		t.Fatalf("last-good.toml changed:\n%s", got)
	}
	sum := sha256.Sum256([]byte(lo))
	if rec := readConfigFile(t, disk, "failed-config.txt"); !strings.Contains(string(rec), "sha256="+hex.EncodeToString(sum[:])) {
		t.Fatalf("failed-config.txt does not name the failed config:\n%s", rec)
	}

	// Boot 3: the flash copy of the failed config is skipped, with the reason.
	v = directBoot(t, disk, "", "", true)
	m, next = v.waitFor(regexp.MustCompile(`\*\*\* config: flash /config/pptpbox.toml rejected, not applied: boxd failed with this file on an earlier boot \((.*)\)`), 0, bootLimit)
	if !strings.Contains(m[1], "boxd exited 3 times") {
		t.Errorf("skip reason %q", m[1])
	}
	m, _ = v.waitFor(readyRE, next, bootLimit)
	if m[5] != "last-good" {
		t.Fatalf("config source %s, want last-good", m[5])
	}
}
