package firmware

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestFirmwareConsole drives the serial console as an operator does: the login asked for
// by pptpbox.login=1 (a wrong password refused, the right one taken), an abbreviated
// command, show system, ? help, Tab completion, a config change staged, diffed and
// committed (then found on the CONFIG partition), reboot after its confirmation, and
// config save-to-usb onto a blank PPTPBOX stick. At the prompt the console shows no INFO
// log lines.
func TestFirmwareConsole(t *testing.T) {
	gate(t)
	need(t, "sgdisk", "mtype", "mcopy", "mkfs.vfat")
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	def, err := os.ReadFile(filepath.Join("..", "..", "rootfs", "etc", "pptpbox", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	const password = "c0nsole-Pass"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(def), "[console]\n", "[console]\npassword_hash = \""+string(hash)+"\"\n", 1)
	if cfg == string(def) {
		t.Fatal("default.toml has no [console] section to put the hash in")
	}
	writeConfigFile(t, disk, "pptpbox.toml", []byte(cfg))
	// A blank stick labelled PPTPBOX (no pptpbox.toml: the flash config runs), for
	// config save-to-usb.
	stick := filepath.Join(t.TempDir(), "usb.img")
	if out, err := exec.Command("mkfs.vfat", "-n", "PPTPBOX", "-C", stick, "16384").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.vfat: %v: %s", err, out)
	}

	v := directBoot(t, disk, stick, "pptpbox.login=1 pptpbox.trial=3s", false)
	ready, next := v.waitFor(readyRE, 0, bootLimit)
	if ready[5] != "flash" {
		t.Fatalf("config source %s, want flash", ready[5])
	}
	_, next = v.waitFor(regexp.MustCompile(`pptpbox console login`), next, 30*time.Second)

	v.send("not-the-password")
	_, next = v.waitFor(regexp.MustCompile(`Login incorrect`), next, 30*time.Second)
	banner := regexp.MustCompile(`\? lists the commands, Tab completes`)
	if n := v.count(banner, 0, next); n != 0 {
		t.Fatalf("the CLI started before the right password")
	}
	v.send(password)
	_, start := v.waitFor(banner, next, 30*time.Second)

	// An abbreviation, and a table.
	v.send("sh sess")
	_, next = v.waitFor(regexp.MustCompile(`no sessions|USER\s+PEER`), start, 30*time.Second)
	v.send("sh int")
	_, next = v.waitFor(regexp.MustCompile(`NAME\s+ROLE\s+STATE\s+MTU`), next, 30*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`wan\s+wan\s+up`), next, 10*time.Second)

	// show system: version and board from boxd, and the flags the init passed it.
	v.send("show system")
	_, next = v.waitFor(regexp.MustCompile(`version\s+`+regexp.QuoteMeta(ready[1])), next, 30*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`board\s+qemu-amd64`), next, 10*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`config store\s+/config/pptpbox.toml`), next, 10*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`config source\s+flash`), next, 10*time.Second)

	// ? at an empty line lists the commands, the init's among them.
	typ := func(s string) {
		t.Helper()
		if _, err := v.in.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	typ("?")
	_, next = v.waitFor(regexp.MustCompile(`\s+password\s+set the console password`), next, 30*time.Second)
	// Tab completes an argument, which is never abbreviated: without the completion
	// `config show cand` is refused.
	typ("config show cand\t\r")
	_, next = v.waitFor(regexp.MustCompile(`# candidate config:`), next, 30*time.Second)

	// Stage, diff, commit.
	v.send("config set log.level debug")
	v.send("config diff")
	_, next = v.waitFor(regexp.MustCompile(`\+level = "debug"`), next, 30*time.Second)
	v.send("config commit")
	_, next = v.waitFor(regexp.MustCompile(`written to /config/pptpbox.toml`), next, 30*time.Second)
	v.send("version")
	_, next = v.waitFor(regexp.MustCompile(`^\r*`+regexp.QuoteMeta(ready[1])+`$`), next, 30*time.Second)

	// Reboot asks first (the answer typed ahead is the question's).
	v.confirm("reboot")
	_, next = v.waitFor(regexp.MustCompile(`Reboot the box\? \[y/N\] y`), next, 30*time.Second)
	end := next
	_, next = v.waitFor(regexp.MustCompile(`pptpbox: reboot`), next, 60*time.Second)

	// Nothing below WARN reached the console while the prompt was open.
	v.con.mu.Lock()
	for _, l := range v.con.lines[start:end] {
		if strings.Contains(l, "level=INFO") || strings.Contains(l, "level=DEBUG") {
			t.Errorf("an INFO log line at the prompt: %q", l)
		}
	}
	v.con.mu.Unlock()

	// The box comes back with the committed config, asks for the password again; then a
	// clean poweroff, and the change is on the CONFIG partition.
	ready, next = v.waitFor(readyRE, next, bootLimit)
	if ready[5] != "flash" {
		t.Errorf("after reboot: config source %s, want flash", ready[5])
	}
	_, next = v.waitFor(regexp.MustCompile(`pptpbox console login`), next, 30*time.Second)
	v.send(password)
	_, next = v.waitFor(regexp.MustCompile(`\? lists the commands`), next, 30*time.Second)
	// The running config onto the stick (mounted read-only at boot).
	v.send("config save-to-usb")
	_, next = v.waitFor(regexp.MustCompile(`running config written to /dev/\S+:/pptpbox.toml`), next, 30*time.Second)
	v.confirm("poweroff")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 60*time.Second)
	v.waitExit(30 * time.Second)
	got := string(readConfigFile(t, disk, "pptpbox.toml"))
	if !regexp.MustCompile(`(?m)^level = "debug"`).MatchString(got) || !strings.Contains(got, string(hash)) {
		t.Fatalf("CONFIG:/pptpbox.toml after the commit:\n%s", got)
	}
	if prev := string(readConfigFile(t, disk, "pptpbox.toml.prev")); prev != cfg {
		t.Errorf("the rollback point is not the config before the commit:\n%s", prev)
	}
	if saved := string(mtools(t, "mtype", "-i", stick, "::/pptpbox.toml")); saved != got {
		t.Errorf("the stick's pptpbox.toml is not the running config:\n%s", saved)
	}
}
