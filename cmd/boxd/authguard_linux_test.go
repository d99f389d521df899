package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestBoxdGuessingSlowed: boxd as a process with [pptp] auth_fail_* set
// low. Wrong passwords from one address: past the limit the Failure is held
// back, and then a call from that address, even with the right password,
// is refused with Outgoing-Call-Reply do-not-accept; the log and boxctl
// stats say so. (Before: 4,105 wrong logins in 3 s, nothing refused.)
func TestBoxdGuessingSlowed(t *testing.T) {
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "gsrv")
	cli := netnstest.NewNS(t, "gcli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	// The 3rd failure is held 5 s and the address refused for 5 s more:
	// room for the next client to start on a busy machine.
	cfg, dir := writeConfig(t, `
[pptp]
listen = "192.0.2.1:1723"
auth_fail_limit = 2
auth_fail_source_limit = 2
auth_fail_delay = "5s"
auth_fail_max_delay = "5s"
[[user]]
name = "alice"
password = "alice-pw"
`)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, srv, bin, cfg, sock, "pptp server ready")
	pptpc := func(pw string) string {
		p := startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", "alice", "-password", pw))
		if err := p.wait(t, 40*time.Second); err == nil {
			t.Fatalf("pptpc with password %q succeeded:\n%s", pw, p.log.String())
		}
		return p.log.String()
	}
	for i := 0; i < 3; i++ {
		if out := pptpc("wrong"); !strings.Contains(out, "E=691") {
			t.Fatalf("wrong password %d: no E=691:\n%s", i+1, out)
		}
	}
	boxd.log.waitFor(t, `msg="login failure delayed: backoff" user=alice peer=192.0.2.2`, 5*time.Second)
	if out := pptpc("alice-pw"); !strings.Contains(out, "do-not-accept") {
		t.Fatalf("a call from the address in backoff was not refused with do-not-accept:\n%s\n%s", out, boxd.log.String())
	}
	boxd.log.waitFor(t, `msg="call refused: source in login backoff" peer=192.0.2.2`, 5*time.Second)
	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "stats", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("boxctl show stats: %v\n%s", err, out)
	}
	for key, want := range map[string]string{"guard_delayed_failures": "1", "guard_refused_calls": "1", "guard_sources": "1"} {
		m := regexp.MustCompile(`"` + key + `":\s*(\d+)`).FindStringSubmatch(string(out))
		if m == nil || m[1] != want {
			t.Errorf("%s = %v, want %s:\n%s", key, m, want, out)
		}
	}
}
