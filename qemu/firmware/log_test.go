package firmware

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLogSurvivesReboot: the init saves its log to the CONFIG partition on a console reboot,
// when boxd dies and on poweroff, and `show log previous` (boxctl -> boxd) prints the last
// save: after the reboot, the first boot's lines (its debug shell, which the second boot
// never ran before it asked); after boxd was killed, the save that death made. On the card
// afterwards: previous.log from the poweroff, previous.1.log from the death. show system
// prints the SNTP client's state (the test network reaches no time server).
func TestLogSurvivesReboot(t *testing.T) {
	gate(t)
	need(t, "sgdisk", "mtype")
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	v := directBoot(t, disk, "", "", false)
	_, next := v.waitFor(readyRE, 0, bootLimit)

	// Boot 1's mark: a debug shell.
	v.send("shell")
	_, next = v.waitFor(regexp.MustCompile(`debug shell started`), next, 30*time.Second)
	v.send("exit")
	_, next = v.waitFor(regexp.MustCompile(`debug shell ended`), next, 30*time.Second)
	v.confirm("reboot")
	_, next = v.waitFor(regexp.MustCompile(`msg="log saved" file=/config/log/previous.log reason=reboot`), next, 60*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`pptpbox: reboot`), next, 60*time.Second)
	boot2 := next
	_, next = v.waitFor(readyRE, next, bootLimit)

	v.send("show log previous")
	_, next = v.waitFor(regexp.MustCompile(`saved \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC in /config/log/previous.log \(\d+ lines\)`), next, 30*time.Second)
	from := next
	v.waitFor(regexp.MustCompile(`init: .*msg="debug shell started"`), from, 10*time.Second)
	v.waitFor(regexp.MustCompile(`boxd: .*msg="pptp server ready"`), from, 10*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`--- log saved \S+: reboot`), from, 10*time.Second)

	v.send("show system")
	_, next = v.waitFor(regexp.MustCompile(`clock +not synced`), next, 30*time.Second)

	// boxd dies: the init saves the log, and the next boxd shows that save.
	pm, _ := v.waitFor(regexp.MustCompile(`service started" service=boxd pid=(\d+)`), boot2, time.Second)
	v.send("shell")
	_, next = v.waitFor(regexp.MustCompile(`debug shell started`), next, 30*time.Second)
	v.send("kill -9 " + pm[1])
	_, next = v.waitFor(regexp.MustCompile(`msg="log saved" file=/config/log/previous.log reason="boxd died: killed by SIGKILL`), next, 30*time.Second)
	// Still in the shell, which shows every line: at the prompt only warnings show.
	_, next = v.waitFor(regexp.MustCompile(`boxd: .*msg="pptp server ready"`), next, 60*time.Second)
	v.send("exit")
	_, next = v.waitFor(regexp.MustCompile(`debug shell ended`), next, 30*time.Second)
	v.send("show log previous")
	_, next = v.waitFor(regexp.MustCompile(`--- log saved \S+: boxd died: killed by SIGKILL`), next, 30*time.Second)

	v.confirm("poweroff")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 60*time.Second)
	v.waitExit(30 * time.Second)
	prev := string(readConfigFile(t, disk, "log/previous.log"))
	older := string(readConfigFile(t, disk, "log/previous.1.log"))
	if !strings.Contains(prev, ": poweroff\n") || !strings.Contains(prev, "boxd: ") {
		t.Errorf("previous.log after the poweroff:\n%s", lastLines(prev, 5))
	}
	if !strings.Contains(older, ": boxd died: killed by SIGKILL") {
		t.Errorf("previous.1.log after the poweroff:\n%s", lastLines(older, 5))
	}
	if len(prev) > 256<<10 || len(older) > 256<<10 {
		t.Errorf("saved logs of %d and %d bytes, over 256 KiB", len(prev), len(older))
	}
}
