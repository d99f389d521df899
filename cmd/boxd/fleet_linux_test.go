package main

import (
	"fmt"

	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
)

// TestFleet (issue 11, docs/fleet.md): two boxes, one FreeRADIUS with an
// SQL (sqlite) backend. Both boxes' accounting lands in one radacct table,
// each row with its box's NAS-IP-Address; alice's second login, on the
// other box, is refused by Simultaneous-Use (FreeRADIUS counts her open
// radacct rows); one Disconnect-Request naming only her, sent to the
// server, is proxied by it to the box her open radacct row names, and
// ends her session there; then box 2 lets her in.
//
//	cli1 --- box1 (10.0.1.2) --- rad (10.0.1.1, FreeRADIUS)
//	cli2 --- box2 (10.0.2.2) ---/ (10.0.2.1)
func TestFleet(t *testing.T) {
	const coaPort = 3800
	netnstest.Require(t, "ip", "radclient", "sqlite3")
	radiustest.Require(t)
	bin := buildBinaries(t)
	rad := netnstest.NewNS(t, "frad")
	box := []*netnstest.NS{netnstest.NewNS(t, "fbox1"), netnstest.NewNS(t, "fbox2")}
	cli := []*netnstest.NS{netnstest.NewNS(t, "fcli1"), netnstest.NewNS(t, "fcli2")}
	for i := range 2 {
		n := i + 1
		linkNamed(t, rad, fmt.Sprintf("box%d", n), fmt.Sprintf("10.0.%d.1/24", n), box[i], "rad", fmt.Sprintf("10.0.%d.2/24", n))
		linkNamed(t, box[i], "wan", fmt.Sprintf("192.0.%d.1/24", n+1), cli[i], "eth0", fmt.Sprintf("192.0.%d.2/24", n+1))
	}
	// The server has one address, 10.0.1.1; box 2 reaches it through its link.
	if out, err := box[1].Run("ip", "route", "add", "10.0.1.0/24", "via", "10.0.2.1"); err != nil {
		t.Fatalf("route: %v %s", err, out)
	}
	fr := radiustest.Start(t, radiustest.Options{
		AuthPort: 18120, AcctPort: 18130, Listen: "10.0.1.1", Command: rad.Cmd,
		Clients: []string{"10.0.1.2", "10.0.2.2"},
		SQL:     true,
		CoAPort: coaPort,
		SQLInit: `INSERT INTO radcheck (username, attribute, op, value) VALUES
			('alice', 'Cleartext-Password', ':=', 'alice-pw'),
			('alice', 'Simultaneous-Use', ':=', '1');`,
	})
	var boxd [2]*proc
	for i := range 2 {
		n := i + 1
		cfg, dir := writeConfig(t, fmt.Sprintf(`
[log]
level = "debug"
[pptp]
listen = "192.0.%[1]d.1:1723"
[radius]
nas_identifier = "box%[2]d"
nas_ip = "10.0.%[2]d.2"
source_ip = "10.0.%[2]d.2"
timeout = "1s"
retries = 1
dae_listen = "10.0.%[2]d.2:3799"
[[radius.server]]
address = "%[3]s"
secret = "%[4]s"
acct_port = 18130
`, n+1, n, fr.AuthAddr(), fr.Secret))
		boxd[i] = startBoxd(t, box[i], bin, cfg, filepath.Join(dir, "boxd.sock"), "pptp server ready")
	}
	login := func(i int) *proc {
		return startProc(t, cli[i].Cmd(filepath.Join(bin, "pptpc"), "-server", fmt.Sprintf("192.0.%d.1", i+2),
			"-user", "alice", "-password", "alice-pw", "-tun", "c-alice"))
	}
	openRows := func() string {
		return fr.Query(t, "SELECT username, nasipaddress FROM radacct WHERE acctstoptime IS NULL ORDER BY radacctid")
	}

	// alice on box 1: accepted, her Start in radacct names box 1.
	a1 := login(0)
	a1.log.waitFor(t, "connected:", 30*time.Second)
	boxd[0].log.waitFor(t, `msg="session up" user=alice`, 10*time.Second)
	radiustest.WaitFor(t, 10*time.Second, "alice's Start in radacct", func() bool { return openRows() == "alice|10.0.1.2" })

	// alice on box 2: refused, FreeRADIUS counted her session on box 1.
	a2 := login(1)
	a2.wait(t, 30*time.Second)
	if strings.Contains(a2.log.String(), "connected:") {
		t.Fatalf("second login on box 2 let in:\n%s", a2.log.String())
	}
	boxd[1].log.waitFor(t, "radius auth refused", 5*time.Second)
	if !strings.Contains(fr.Output(), "Multiple logins") {
		t.Errorf("FreeRADIUS did not refuse for Simultaneous-Use")
	}

	// Kick through the server: one Disconnect-Request naming only the
	// user, to FreeRADIUS's coa listener; it finds her box in radacct
	// and proxies the request there, from its own address (the only one
	// box 1 takes dynamic authorization from).
	cmd := rad.Cmd("radclient", "-x", "-r", "1", "-t", "10", fmt.Sprintf("10.0.1.1:%d", coaPort), "disconnect", fr.Secret)
	cmd.Stdin = strings.NewReader("User-Name = \"alice\"\n")
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "Disconnect-ACK") {
		t.Fatalf("disconnect alice through the server: %s", out)
	}
	boxd[0].log.waitFor(t, "disconnected by RADIUS Disconnect-Request", 5*time.Second)
	a1.wait(t, 15*time.Second)
	radiustest.WaitFor(t, 10*time.Second, "alice's Stop", func() bool { return openRows() == "" })

	// Now box 2 lets her in; her Start there names box 2.
	a3 := login(1)
	a3.log.waitFor(t, "connected:", 30*time.Second)
	radiustest.WaitFor(t, 10*time.Second, "alice's Start on box 2", func() bool { return openRows() == "alice|10.0.2.2" })
	stopProc(t, a3)
	radiustest.WaitFor(t, 10*time.Second, "box 2's Stop", func() bool { return openRows() == "" })

	// One table, both boxes: two closed sessions, with their causes.
	rows := fr.Query(t, "SELECT nasipaddress, acctterminatecause FROM radacct WHERE username = 'alice' ORDER BY radacctid")
	if want := "10.0.1.2|Admin-Reset\n10.0.2.2|User-Request"; rows != want {
		t.Errorf("radacct:\n%s\nwant:\n%s", rows, want)
	}
}

// stopProc ends a pptpc with SIGINT (a clean hang-up) and waits for it.
func stopProc(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.wait(t, 15*time.Second); err != nil {
		t.Logf("%s exit: %v", p.cmd.Path, err)
	}
}
