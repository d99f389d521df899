package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
)

// TestReloadSwapsRadiusServers: a reload (the path a commit takes) that
// moves [[radius.server]] from one FreeRADIUS to another applies at once
// and drops nobody: alice, let in by the first server, stays up and her
// Stop goes to the first server; bob, whom only the second server knows,
// logs in right after the reload and his Start goes to the second.
func TestReloadSwapsRadiusServers(t *testing.T) {
	netnstest.Require(t, "ip")
	radiustest.Require(t)
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "rlsrv")
	cli := netnstest.NewNS(t, "rlcli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	one := radiustest.Start(t, radiustest.Options{Secret: "one-secret", AuthPort: 18120, AcctPort: 18130, Command: srv.Cmd,
		Users: "alice\tCleartext-Password := \"alice-pw\"\n"})
	two := radiustest.Start(t, radiustest.Options{Secret: "two-secret", AuthPort: 18121, AcctPort: 18131, Command: srv.Cmd,
		Users: "bob\tCleartext-Password := \"bob-pw\"\n"})
	conf := func(fr *radiustest.Server, acct int) string {
		return `[pptp]
listen = "192.0.2.1:1723"
[radius]
timeout = "1s"
retries = 1
interim_interval = "0s"
[[radius.server]]
address = "` + fr.AuthAddr() + `"
secret = "` + fr.Secret + `"
acct_port = ` + map[int]string{18130: "18130", 18131: "18131"}[acct] + "\n"
	}
	cfg, _ := writeConfig(t, conf(one, 18130))
	boxd := startBoxd(t, srv, bin, cfg, "", "pptp server ready")
	pptpc := func(user string) *proc {
		p := startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", user, "-password", user+"-pw", "-tun", "c-"+user))
		p.log.waitFor(t, "connected:", 30*time.Second)
		return p
	}
	alice := pptpc("alice")
	radiustest.WaitFor(t, 10*time.Second, "alice's Start at the first server", func() bool {
		return strings.Contains(one.Detail(), "Acct-Status-Type = Start")
	})

	os.WriteFile(cfg, []byte(conf(two, 18131)), 0o600)
	boxd.cmd.Process.Signal(syscall.SIGHUP)
	line := boxd.log.waitFor(t, "reload done", 10*time.Second)
	if !strings.Contains(line, "radius") {
		t.Errorf("the reload does not say it applied [radius]: %s", line)
	}
	if strings.Contains(boxd.log.String(), "sections=radius") {
		t.Errorf("[radius] waits for a restart:\n%s", boxd.log.String())
	}
	bob := pptpc("bob")
	radiustest.WaitFor(t, 10*time.Second, "bob's Start at the second server", func() bool {
		return strings.Contains(two.Detail(), `User-Name = "bob"`)
	})
	select {
	case <-alice.done:
		t.Fatalf("alice's client ended with the reload:\n%s", alice.log.String())
	default:
	}

	alice.cmd.Process.Signal(syscall.SIGINT)
	alice.wait(t, 15*time.Second)
	radiustest.WaitFor(t, 10*time.Second, "alice's Stop at the first server", func() bool {
		return strings.Contains(one.Detail(), "Acct-Status-Type = Stop")
	})
	if strings.Contains(two.Detail(), `"alice"`) {
		t.Errorf("alice's accounting went to the second server:\n%s", two.Detail())
	}
	if strings.Contains(one.Detail(), `"bob"`) {
		t.Errorf("bob's accounting went to the first server:\n%s", one.Detail())
	}
	bob.cmd.Process.Signal(syscall.SIGINT)
	bob.wait(t, 15*time.Second)
}
