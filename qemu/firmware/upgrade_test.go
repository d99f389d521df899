package firmware

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/firmware/grubenv"
	"github.com/pptpbox/pptpbox/firmware/update"
	"github.com/pptpbox/pptpbox/pkg/login"
)

// TestUpgrade walks a box from its SeaBIOS disk boot through three upgrades, each in its
// own QEMU run of the same disk (the box reboots itself inside a run):
//
//  1. a USB stick holds update Y (a second build, PPTPBOX_OUT_NEXT): slot A (the image, X)
//     installs it into B at boot, reboots, GRUB tries B once, the init on B confirms it
//     after the trial hold; the ready line, the console status and `show system` say
//     slot B runs Y;
//  2. a stick holds update Z whose initramfs is junk: B installs it into A, GRUB tries A,
//     the kernel panics, the reset lands on B (GRUB cleared the one-shot), which says so;
//     the stick's update is not tried a second time;
//  3. `upgrade FILE` on the console installs X again into A; on trial, the init stops
//     feeding the watchdog; the reset lands on B, which says A crashed or hung;
//  4. `factory-reset` (twice) on the console: CONFIG holds the embedded default only;
//  5. with [upgrade] on, an HTTP PUT from the LAN side (as curl -T): a wrong password and a
//     foreign board are refused, X is installed into A and the box reboots into it;
//  6. pptpbox.factory_reset=1 on the kernel command line resets CONFIG at boot.
//
// The config files on CONFIG are the same byte for byte at the end (log/ aside: the init
// saves its log there at each reboot). The updates are signed here
// (mkupdate build's steps) with the key the images trust: the dev key of the cache, or
// PPTPBOX_UPDATE_KEY.
func TestUpgrade(t *testing.T) {
	gate(t)
	need(t, "sgdisk", "mtype", "mcopy", "mkfs.vfat", "zstd")
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	key := signingKey(t)
	next := nextBuild(t)
	mkUpdate := func(dir, version string, initramfs []byte) []byte {
		return buildUpdate(t, key, "qemu-amd64", dir, version, initramfs)
	}
	vX := strings.TrimSpace(string(readFile(t, filepath.Join(outDir(), "qemu-amd64.version"))))
	vY := strings.TrimSpace(string(readFile(t, filepath.Join(next, "qemu-amd64.version"))))
	if vX == vY {
		t.Fatalf("both builds are version %s", vX)
	}
	updY := mkUpdate(next, "", nil)
	updZ := mkUpdate(outDir(), "vZ", []byte("this is not an initramfs"))
	updX := mkUpdate(outDir(), "", nil)

	// The test's kernel arguments through grubenv; a last good config equal to the flash
	// one, so that no config trial writes CONFIG.
	setGrubEnv(t, disk, "pptpbox.debug=1 pptpbox.test=1 pptpbox.trial=3s pptpbox.watchdog=5s")
	writeConfigFile(t, disk, "last-good.toml", readConfigFile(t, disk, "pptpbox.toml"))
	configBefore := partition(t, disk, "CONFIG")

	// Run 1: vY from the USB stick, into B, confirmed.
	qX, qY := regexp.QuoteMeta(vX), regexp.QuoteMeta(vY)
	v := diskBoot(t, disk, stick(t, map[string][]byte{"pptpbox-qemu-amd64-" + vY + ".upd": updY}))
	_, at := v.waitFor(regexp.MustCompile(`upgrade: slot B holds `+qY+` now; rebooting to try it`), 0, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, bootLimit)
	m, at := v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vY || m[7] != "B" || m[8] != "A:"+vX+",B:"+vY {
		t.Fatalf("ready line after the upgrade: %s", m[0])
	}
	_, at = v.waitFor(regexp.MustCompile(`pptpbox upgrade: slot B \(`+qY+`\) from usb: good \(was slot A \(`+qX+`\)\); slot B is committed`), at, bootLimit)
	v.send("status")
	_, at = v.waitFor(regexp.MustCompile(`slot B \(committed B\) A:`+qX+` B:`+qY), at, 20*time.Second)
	v.send("show system")
	_, at = v.waitFor(regexp.MustCompile(`last upgrade\s+slot B \(`+qY+`\) from usb: good`), at, 30*time.Second)
	poweroff(v, at)

	// Run 2: a kernel that panics: back to B by itself, and B says why.
	v = diskBoot(t, disk, stick(t, map[string][]byte{"pptpbox-qemu-amd64-vZ.upd": updZ}))
	_, at = v.waitFor(regexp.MustCompile(`upgrade: slot A holds vZ now; rebooting to try it`), 0, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot A`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`Kernel panic`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`\*\*\* upgrade: slot A \(vZ\) failed, back on slot B \(`+qY+`\): slot A never reached its init`), at, bootLimit)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vY || m[7] != "B" || m[8] != "A:vZ,B:"+vY || !strings.Contains(m[9], "slot A (vZ) failed") {
		t.Fatalf("ready line after the rollback: %s", m[0])
	}
	poweroff(v, at)
	// Clean reboots and a panic before the init: the config files are byte for byte what
	// they were.
	sameConfig(t, disk, configBefore)

	// Run 3: from the console; the new slot hangs (watchdog) during its trial.
	setGrubEnv(t, disk, "pptpbox.debug=1 pptpbox.test=1 pptpbox.trial=300s pptpbox.watchdog=5s")
	v = diskBoot(t, disk, stick(t, map[string][]byte{"x.bin": updX, "pptpbox-qemu-amd64-vZ.upd": updZ}))
	_, at = v.waitFor(regexp.MustCompile(`this update failed on an earlier boot`), 0, bootLimit)
	_, at = v.waitFor(slotReadyRE, at, bootLimit)
	v.send("upgrade /mnt/usb/x.bin")
	_, at = v.waitFor(regexp.MustCompile(`upgrade: slot A verified \(SHA-256 read back\)`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot A`), at, bootLimit)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vX || m[7] != "A" || !strings.Contains(m[9], "on trial") {
		t.Fatalf("ready line on trial: %s", m[0])
	}
	v.send("test-watchdog-hang")
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot B`), at, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`\*\*\* upgrade: slot A \(`+qX+`\) failed, back on slot B \(`+qY+`\): slot A started but was not confirmed: it crashed or hung`), at, bootLimit)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vY {
		t.Fatalf("ready line after the watchdog: %s", m[0])
	}
	poweroff(v, at)

	// The watchdog reset the box with CONFIG mounted: the FAT's dirty flag may be set;
	// the config files must be the same.
	sameConfig(t, disk, configBefore)
	env := readGrubEnv(t, disk)
	if env["pptpbox_slot"] != "B" || env["pptpbox_try"] != "" {
		t.Errorf("grubenv at the end: %q", env)
	}

	// Run 4: factory reset from the console: CONFIG holds the default only, the slots stay.
	writeConfigFile(t, disk, "lan-leases.json", []byte(`{"leases":[]}`))
	writeConfigFile(t, disk, "pptpbox.toml", append(readConfigFile(t, disk, "pptpbox.toml"), "\n# edited\n"...))
	v = diskBoot(t, disk, stick(t, nil))
	_, at = v.waitFor(slotReadyRE, 0, bootLimit)
	v.send("factory-reset yes")
	_, at = v.waitFor(regexp.MustCompile(`Type .factory-reset yes. within 30s to do it`), at, 20*time.Second)
	v.send("factory-reset yes")
	_, at = v.waitFor(regexp.MustCompile(`factory reset: CONFIG holds the default config only; rebooting`), at, 30*time.Second)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vY || m[7] != "B" {
		t.Errorf("ready line after the factory reset: %s", m[0])
	}
	poweroff(v, at)
	def := readFile(t, filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if got := readConfigFile(t, disk, "pptpbox.toml"); !bytes.Equal(got, def) {
		t.Errorf("pptpbox.toml after the factory reset is not the embedded default:\n%s", got)
	}
	for _, name := range []string{"last-good.toml", "lan-leases.json"} {
		cmd := exec.Command("mtype", "-i", partitionPath(t, disk, "CONFIG"), "::/"+name)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("%s survived the factory reset: %s", name, out)
		}
	}

	// Run 5: the HTTP upload from the LAN side ([upgrade]), as curl -T does it: a wrong
	// password, an update for another board, then X into slot A.
	hash, err := login.Hash("upgrade-pw")
	if err != nil {
		t.Fatal(err)
	}
	writeConfigFile(t, disk, "pptpbox.toml", append(def, "\n[upgrade]\nlisten = \"192.168.1.1:8080\"\npassword_hash = \""+hash+"\"\n"...))
	port := freePort(t)
	v = diskBootNet(t, disk, stick(t, nil), []string{
		"-netdev", "user,id=wan", "-device", "virtio-net-pci,netdev=wan",
		"-netdev", "user,id=lan,restrict=on,net=192.168.1.0/24,host=192.168.1.2,dhcpstart=192.168.1.50,hostfwd=tcp:127.0.0.1:" + port + "-192.168.1.1:8080",
		"-device", "virtio-net-pci,netdev=lan"})
	_, at = v.waitFor(slotReadyRE, 0, bootLimit)
	// Not the log line "upgrade endpoint listening": it is INFO, and it may come after
	// the console's prompt opened (boxd polls for the LAN address), when only warnings
	// reach the console.
	url := "http://127.0.0.1:" + port + "/pptpbox.upd"
	waitHTTP(t, url, time.Minute)
	if code, body := put(t, url, "guess", updX); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d %s", code, body)
	}
	apu2, err := update.Build(key, "apu2", "v9", map[string][]byte{update.Kernel: []byte("k"), update.Initramfs: []byte("i")})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := put(t, url, "upgrade-pw", apu2); code != http.StatusUnprocessableEntity || !strings.Contains(body, "built for board apu2, this box is qemu-amd64") {
		t.Errorf("foreign board: %d %s", code, body)
	}
	if code, body := put(t, url, "upgrade-pw", updX); code != http.StatusOK || !strings.HasSuffix(body, "ok\n") {
		t.Fatalf("upload: %d %s", code, body)
	}
	_, at = v.waitFor(regexp.MustCompile(`pptpbox: booting slot A`), at, bootLimit)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vX || m[7] != "A" || !strings.Contains(m[9], "on trial") {
		t.Errorf("ready line after the HTTP upload: %s", m[0])
	}
	poweroff(v, at)

	// Run 6: factory reset from the kernel command line (what the boot menu's second entry
	// adds). The poweroff above cut A's trial short: B, committed, says so.
	setGrubEnv(t, disk, "pptpbox.debug=1 pptpbox.test=1 pptpbox.trial=300s pptpbox.watchdog=5s pptpbox.factory_reset=1")
	writeConfigFile(t, disk, "last-good.toml", []byte("# an old last good config\n"))
	v = diskBoot(t, disk, stick(t, nil))
	_, at = v.waitFor(regexp.MustCompile(`\*\*\* upgrade: slot A \(`+qX+`\) failed, back on slot B \(`+qY+`\): slot A started but was not confirmed`), 0, bootLimit)
	_, at = v.waitFor(regexp.MustCompile(`\*\*\* factory reset \(pptpbox.factory_reset on the kernel command line\): CONFIG holds the embedded default config only`), at, bootLimit)
	m, at = v.waitFor(slotReadyRE, at, bootLimit)
	if m[1] != vY || m[5] != "flash" {
		t.Errorf("ready line after the factory reset: %s", m[0])
	}
	poweroff(v, at)
	if got := readConfigFile(t, disk, "pptpbox.toml"); !bytes.Equal(got, def) {
		t.Errorf("pptpbox.toml after the factory reset at boot is not the embedded default:\n%s", got)
	}
	cmd := exec.Command("mtype", "-i", partitionPath(t, disk, "CONFIG"), "::/last-good.toml")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("last-good.toml survived the factory reset at boot: %s", out)
	}
}

// buildUpdate is mkupdate build as a function: the board's kernel and initramfs a build
// left in dir, signed with key; version "" is the build's own, initramfs nil the build's.
func buildUpdate(t *testing.T, key ed25519.PrivateKey, board, dir, version string, initramfs []byte) []byte {
	t.Helper()
	if version == "" {
		version = strings.TrimSpace(string(readFile(t, filepath.Join(dir, board+".version"))))
	}
	if initramfs == nil {
		initramfs = readFile(t, filepath.Join(dir, board+".initrd.zst"))
	}
	data, err := update.Build(key, board, version, map[string][]byte{
		update.Kernel: readFile(t, filepath.Join(dir, board+".vmlinuz")), update.Initramfs: initramfs})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// nextBuild is PPTPBOX_OUT_NEXT, the output directory of a second build of the image.
func nextBuild(t *testing.T) string {
	t.Helper()
	next := os.Getenv("PPTPBOX_OUT_NEXT")
	if next == "" {
		t.Fatal("PPTPBOX_OUT_NEXT: the output directory of a second build of the image, with another version (make test-firmware makes it)")
	}
	return next
}

// put sends body as curl -T does, with a Basic password.
func put(t *testing.T, url, password string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", password)
	c := &http.Client{Timeout: 2 * time.Minute}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitHTTP waits until url answers with any HTTP status: QEMU's hostfwd accepts the TCP
// connection before the guest listens, so only an answer tells.
func waitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(within)
	for {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %s: %v", url, within, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// slotReadyRE is the ready line with the slots: running, versions, last upgrade.
var slotReadyRE = regexp.MustCompile(readyRE.String() + ` slot=(\S+) slots=(\S+) upgrade="([^"]*)"`)

// sameConfig compares the CONFIG partition's config files with an earlier copy of the
// partition: every file at its root (the configs, the leases) byte for byte. The log/
// directory is left out: the init saves its log there at each reboot and poweroff (and the
// sectors it takes differ; so does the FAT's dirty flag after a watchdog reset).
func sameConfig(t *testing.T, disk string, before []byte) {
	t.Helper()
	old := filepath.Join(t.TempDir(), "config-before.fat")
	os.WriteFile(old, before, 0o644)
	files := func(img string) string {
		var s strings.Builder
		for _, l := range strings.Split(string(mtools(t, "mdir", "-b", "-i", img, "::/")), "\n") {
			switch l = strings.TrimSpace(l); {
			case l == "::/log/":
				// The init's log, saved at every reboot and poweroff (firmware/README.md,
				// "The clock and the log over reboots"): the boxes' history, not config.
			case strings.HasSuffix(l, "/"):
				s.WriteString(l + "\n")
			case l != "":
				s.WriteString(l + " " + string(mtools(t, "mtype", "-i", img, l)) + "\n")
			}
		}
		return s.String()
	}
	if fb, fn := files(old), files(partitionPath(t, disk, "CONFIG")); fb != fn {
		t.Fatalf("the CONFIG partition's config files changed:\nbefore:\n%s\nafter:\n%s", fb, fn)
	}
}

func partitionPath(t *testing.T, img, name string) string {
	off, _ := partitionSpan(t, img, name)
	return img + "@@" + strconv.FormatInt(off, 10)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// signingKey is the private key the image trusts.
func signingKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	path := os.Getenv("PPTPBOX_UPDATE_KEY")
	if path == "" {
		cache := os.Getenv("CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "pptpbox")
		}
		path = filepath.Join(cache, "update-key", "dev.key")
	}
	k, err := update.ReadPrivateKey(path)
	if err != nil {
		t.Fatalf("update signing key: %v (set PPTPBOX_UPDATE_KEY to the key the image trusts)", err)
	}
	return k
}

// partitionSpan is a partition's byte offset and size in the image.
func partitionSpan(t *testing.T, img, name string) (off, size int64) {
	t.Helper()
	out, err := exec.Command("sgdisk", "-p", img).Output()
	if err != nil {
		t.Fatalf("sgdisk -p: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 7 && f[len(f)-1] == name {
			start, err1 := strconv.ParseInt(f[1], 10, 64)
			end, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("sgdisk line %q", l)
			}
			return start * 512, (end - start + 1) * 512
		}
	}
	t.Fatalf("no %s partition in %s", name, img)
	return 0, 0
}

func partition(t *testing.T, img, name string) []byte {
	t.Helper()
	off, size := partitionSpan(t, img, name)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, off); err != nil {
		t.Fatal(err)
	}
	return buf
}

func bootPart(t *testing.T, img string) string { return partitionPath(t, img, "boot") }

func readGrubEnv(t *testing.T, img string) grubenv.Env {
	t.Helper()
	env, err := grubenv.Parse(mtools(t, "mtype", "-i", bootPart(t, img), "::/grub/grubenv"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// setGrubEnv sets the extra kernel arguments grub.cfg reads from grubenv.
func setGrubEnv(t *testing.T, img, args string) {
	t.Helper()
	env := readGrubEnv(t, img)
	env["pptpbox_args"] = args
	data, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "grubenv")
	os.WriteFile(src, data, 0o644)
	mtools(t, "mcopy", "-o", "-i", bootPart(t, img), src, "::/grub/grubenv")
}

// stick is a FAT stick labelled PPTPBOX holding files.
func stick(t *testing.T, files map[string][]byte) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "usb.img")
	if out, err := exec.Command("mkfs.vfat", "-n", "PPTPBOX", "-C", img, strconv.Itoa(96*1024)).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.vfat: %v: %s", err, out)
	}
	for name, data := range files {
		src := filepath.Join(t.TempDir(), name)
		os.WriteFile(src, data, 0o644)
		mtools(t, "mcopy", "-i", img, src, "::/"+name)
	}
	return img
}

// diskBoot boots the disk with SeaBIOS and GRUB, a watchdog and a USB stick; the guest's
// reboots stay in the same QEMU.
func diskBoot(t *testing.T, disk, usb string) *vm {
	t.Helper()
	return diskBootNet(t, disk, usb, netArgs("pci"))
}

func diskBootNet(t *testing.T, disk, usb string, nets []string) *vm {
	t.Helper()
	args := append([]string{"-M", "pc", "-m", "512",
		"-drive", "file=" + disk + ",format=raw,if=virtio", "-device", "i6300esb",
		"-device", "qemu-xhci", "-drive", "if=none,id=usb,format=raw,file=" + usb,
		"-device", "usb-storage,drive=usb,removable=on"}, nets...)
	return startVM(t, 8*time.Minute, "qemu-system-x86_64", args...)
}

func poweroff(v *vm, next int) {
	v.t.Helper()
	v.confirm("poweroff")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 30*time.Second)
	v.waitExit(30 * time.Second)
}
