package firmware

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/firmware/update"
	"github.com/u-root/u-root/pkg/cpio"
)

// TestUpgradeRefusedAndBoxdExits boots the qemu-amd64 disk (SeaBIOS) once, on slot A:
//
//  1. `upgrade FILE` on the console with an unsigned file (its signature zeroed) and with
//     one signed by another key: both refused in words, nothing installed (no progress
//     line, `status` says the same slots and versions before and after);
//  2. `upgrade FILE` with an update of the same build whose /bin/boxd exits 1 at start:
//     it is written to B, the box reboots into B's one-shot trial, boxd exits MaxFails
//     times, the init on B records why and reboots, and A comes back by itself, saying
//     on the console that B failed and why. The time from GRUB booting B to A's ready
//     line is logged and bounded by two boots (the trial gives up after three exits with
//     the init's backoff, 0.5 + 1 + 2 s, long before its 90 s + hold limit). On A, `show
//     log previous` is B's log: boxd's last words and the trial's verdict.
//
// The config files on CONFIG are byte for byte what they were.
func TestUpgradeRefusedAndBoxdExits(t *testing.T) {
	gate(t)
	need(t, "sgdisk", "mtype", "mcopy", "mkfs.vfat", "zstd", "go")
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	key := signingKey(t)
	dir := outDir()
	vX := strings.TrimSpace(string(readFile(t, filepath.Join(dir, "qemu-amd64.version"))))
	files := func(initramfs []byte) map[string][]byte {
		return map[string][]byte{update.Kernel: readFile(t, filepath.Join(dir, "qemu-amd64.vmlinuz")), update.Initramfs: initramfs}
	}
	good := readFile(t, filepath.Join(dir, "qemu-amd64.initrd.zst"))

	// An unsigned file: a real update whose signature is zeroes.
	unsigned, err := update.Build(key, "qemu-amd64", "vunsigned", files(good))
	if err != nil {
		t.Fatal(err)
	}
	_, head, _, _, err := update.ParseHeader(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	clear(unsigned[len(head) : len(head)+ed25519.SignatureSize])
	// One signed, correctly, by a key the box does not trust.
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := update.Build(other, "qemu-amd64", "vforeign", files(good))
	if err != nil {
		t.Fatal(err)
	}
	broken, err := update.Build(key, "qemu-amd64", "vbroken", files(brokenBoxdInitramfs(t, good)))
	if err != nil {
		t.Fatal(err)
	}

	setGrubEnv(t, disk, "pptpbox.debug=1 pptpbox.test=1 pptpbox.trial=3s pptpbox.watchdog=5s")
	writeConfigFile(t, disk, "last-good.toml", readConfigFile(t, disk, "pptpbox.toml"))
	configBefore := partition(t, disk, "CONFIG")
	qX := regexp.QuoteMeta(vX)
	v := diskBoot(t, disk, stick(t, map[string][]byte{"unsigned.bin": unsigned, "foreign.bin": foreign, "broken.bin": broken}))
	m, at := v.waitFor(slotReadyRE, 0, bootLimit)
	if m[1] != vX || m[7] != "A" {
		t.Fatalf("first ready line: %s", m[0])
	}
	statusRE := regexp.MustCompile(`slot (\S+) \(committed (\S+)\) (A:\S+ B:\S+)`)
	v.send("status")
	st, at := v.waitFor(statusRE, at, 20*time.Second)
	if st[1] != "A" || st[2] != "A" || !strings.HasPrefix(st[3], "A:"+vX+" ") {
		t.Fatalf("status before: %s", st[0])
	}

	from := at
	v.send("upgrade /mnt/usb/unsigned.bin")
	_, at = v.waitFor(regexp.MustCompile(`update: refused: the signature does not match \(the file was altered or damaged\)`), at, 60*time.Second)
	v.send("upgrade /mnt/usb/foreign.bin")
	_, at = v.waitFor(regexp.MustCompile(`update: refused: signed with key `+update.KeyID(other.Public().(ed25519.PublicKey))+`, this box trusts key `+update.KeyID(key.Public().(ed25519.PublicKey))+` only`), at, 60*time.Second)
	v.send("status")
	st2, at := v.waitFor(statusRE, at, 20*time.Second)
	if st2[0] != st[0] {
		t.Errorf("status after the refused files:\n%s\nbefore:\n%s", st2[0], st[0])
	}
	if n := v.count(regexp.MustCompile(`verified|upgrade: writing|holds \S+ now`), from, at); n != 0 {
		t.Errorf("%d progress lines for refused files:\n%s", n, v.con.tail(40))
	}

	// The update whose boxd exits at start.
	v.send("upgrade /mnt/usb/broken.bin")
	_, at = v.waitFor(regexp.MustCompile(`upgrade: slot B holds vbroken now; rebooting to try it`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, bootLimit)
	trial := v.con.arrived(at - 1)
	_, at = v.waitFor(regexp.MustCompile(`upgrade: slot B \(vbroken\) failed, going back to slot A \(`+qX+`\): boxd exited 3 times`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot A`), at, bootLimit)
	r, at := v.waitFor(regexp.MustCompile(`\*\*\* upgrade: slot B \(vbroken\) failed, back on slot A \(`+qX+`\): (boxd exited 3 times in \S+, last: exit status 1: .*)`), at, bootLimit)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	back := v.con.arrived(at - 1).Sub(trial)
	if m[1] != vX || m[7] != "A" || m[8] != "A:"+vX+",B:vbroken" || !strings.Contains(m[9], "slot B (vbroken) failed") {
		t.Fatalf("ready line after the rollback: %s", m[0])
	}
	if !strings.Contains(r[1], brokenBoxdSays) {
		t.Errorf("the reason lacks boxd's last words %q: %s", brokenBoxdSays, r[1])
	}
	t.Logf("boxd exits at start: from GRUB booting slot B to slot A's ready line: %s (reason: %s)", back.Round(100*time.Millisecond), r[1])
	if limit := 2 * bootLimit; back > limit {
		t.Errorf("the rollback took %s, more than two boots (%s)", back, limit)
	}
	// The failed slot's log, saved at its reboot, is readable on the old slot.
	v.send("show log previous")
	_, at = v.waitFor(regexp.MustCompile(`saved \S+ \S+ UTC in /config/log/previous.log`), at, 30*time.Second)
	_, next := v.waitFor(regexp.MustCompile(regexp.QuoteMeta(brokenBoxdSays)), at, 10*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`upgrade: slot B \(vbroken\) failed, going back to slot A`), next, 10*time.Second)
	_, at = v.waitFor(regexp.MustCompile(`--- log saved \S+: reboot`), next, 10*time.Second)
	v.send("status")
	if st3, next := v.waitFor(statusRE, at, 20*time.Second); st3[1] != "A" || st3[2] != "A" {
		t.Errorf("status after the rollback: %s", st3[0])
	} else {
		at = next
	}
	poweroff(v, at)
	env := readGrubEnv(t, disk)
	if env["pptpbox_slot"] != "A" || env["pptpbox_try"] != "" {
		t.Errorf("grubenv at the end: %q", env)
	}
	sameConfig(t, disk, configBefore)
}

// brokenBoxdSays is the broken boxd's last line.
const brokenBoxdSays = "boxd: broken on purpose (TestUpgradeRefusedAndBoxdExits)"

// brokenBoxdInitramfs is the initramfs good (zstd cpio) with /bin/boxd replaced by a
// static program that prints brokenBoxdSays and exits 1.
func brokenBoxdInitramfs(t *testing.T, good []byte) []byte {
	t.Helper()
	src := "package main\n\nimport \"os\"\n\nfunc main() {\n\tos.Stderr.WriteString(\"" + brokenBoxdSays + "\\n\")\n\tos.Exit(1)\n}\n"
	prog := staticProgram(t, "brokenboxd", src)

	unz := exec.Command("zstd", "-d", "-q", "-c")
	unz.Stdin = bytes.NewReader(good)
	raw, err := unz.Output()
	if err != nil {
		t.Fatalf("zstd -d: %v", err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("read the initramfs: %v", err)
	}
	replaced := 0
	for i, r := range recs {
		if strings.TrimPrefix(r.Name, "./") == "bin/boxd" {
			recs[i] = cpio.StaticFile(r.Name, string(prog), 0o755)
			replaced++
		}
	}
	if replaced != 1 {
		t.Fatalf("bin/boxd found %d times in the initramfs", replaced)
	}
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	if err := cpio.WriteRecords(w, recs); err != nil {
		t.Fatal(err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	z := exec.Command("zstd", "-q", "-19", "-T0", "-c")
	z.Stdin = &buf
	out, err := z.Output()
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	return out
}
