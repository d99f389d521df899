package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
)

// radiusUsers: alice from the pool, fixed with Framed-IP-Address and
// Session-Timeout, both with a Class to be echoed in accounting.
const radiusUsers = `
alice	Cleartext-Password := "alice-pw"
	Class = "alice-class"

fixed	Cleartext-Password := "fixed-pw"
	Framed-IP-Address = 10.79.97.150,
	Session-Timeout = 3600

outside	Cleartext-Password := "outside-pw"
	Framed-IP-Address = 10.79.98.5
`

// TestBoxdFreeRADIUS: boxd in a namespace authenticates through a real
// FreeRADIUS in the same namespace (loopback), the first configured
// server being dead: MS-CHAPv2 + MPPE-128 with the keys from the Access-
// Accept passes traffic both ways, a wrong password gets E=691, the
// Framed-IP-Address user gets that address, a Disconnect-Request from
// radclient ends a session by its Acct-Session-Id, and FreeRADIUS's detail
// file shows Accounting-On, Start, Interim-Update, Stop (User-Request,
// Admin-Reset, Admin-Reboot) with the octets, and Accounting-Off.
func TestBoxdFreeRADIUS(t *testing.T) {
	netnstest.Require(t, "ip", "ping", "radclient")
	radiustest.Require(t)
	start := time.Now()
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "rsrv")
	cli := netnstest.NewNS(t, "rcli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	// The namespace is the test's own: fixed ports are free.
	fr := radiustest.Start(t, radiustest.Options{AuthPort: 18120, AcctPort: 18130, Users: radiusUsers, Command: srv.Cmd})
	cfg, dir := writeConfig(t, `
[log]
level = "debug"
[pptp]
listen = "192.0.2.1:1723"
[radius]
nas_identifier = "pptpbox-e2e"
timeout = "1s"
retries = 1
interim_interval = "1s"
dae_listen = "127.0.0.1:3799"
# The first server is dead (nothing listens: port unreachable): every
# request fails over to FreeRADIUS. Disconnect-Requests are taken from
# each server's address with its secret.
[[radius.server]]
address = "127.0.0.2:18199"
secret = "dead"
acct_port = 18199
[[radius.server]]
address = "`+fr.AuthAddr()+`"
secret = "`+fr.Secret+`"
acct_port = 18130
[metrics]
listen = "127.0.0.1:9100"
# A local user that RADIUS does not know: not used without fallback_local.
[[user]]
name = "local"
password = "local-pw"
`)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, srv, bin, cfg, sock, "pptp server ready")
	t.Logf("setup %v", time.Since(start).Round(time.Millisecond))

	pptpc := func(user, pw string, debug bool) *proc {
		// One TUN per user: fixed's client is still up when the next one dials.
		args := []string{"-server", "192.0.2.1", "-user", user, "-password", pw, "-tun", "c-" + user}
		if debug {
			args = append(args, "-debug")
		}
		return startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), args...))
	}

	// MS-CHAPv2 through FreeRADIUS, MPPE-128 with its keys: traffic.
	alice := pptpc("alice", "alice-pw", false)
	line := alice.log.waitFor(t, "connected:", 30*time.Second)
	if !strings.Contains(line, "local 10.79.97.10 ") || !strings.Contains(line, "MPPE 128-bit stateless") {
		t.Fatalf("client: %s", line)
	}
	boxd.log.waitFor(t, `msg="session up" user=alice`, 10*time.Second)
	if out, err := cli.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1000", "10.79.97.1"); err != nil {
		t.Fatalf("client -> box ping: %v\n%s", err, out)
	}
	if out, err := srv.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.79.97.10"); err != nil {
		t.Fatalf("box -> client ping: %v\n%s", err, out)
	}
	t.Logf("alice up and pinged at %v", time.Since(start).Round(time.Millisecond))

	// Interim-Update (interim_interval 1s), then a clean hang-up: Stop.
	radiustest.WaitFor(t, 10*time.Second, "Interim-Update", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Status-Type = Interim-Update")
	})
	alice.cmd.Process.Signal(syscall.SIGINT)
	if err := alice.wait(t, 15*time.Second); err != nil {
		t.Logf("pptpc alice exit: %v", err)
	}
	radiustest.WaitFor(t, 10*time.Second, "Stop", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Status-Type = Stop")
	})

	// A wrong password: MS-CHAPv2 Failure E=691 with FreeRADIUS's text.
	bad := pptpc("alice", "wrong", true)
	bad.wait(t, 30*time.Second)
	if out := bad.log.String(); !strings.Contains(out, "E=691") {
		t.Errorf("wrong password: no E=691 in the client's log:\n%s", out)
	}
	boxd.log.waitFor(t, "radius auth refused", 5*time.Second)

	// A user unknown to RADIUS but in [[user]]: refused (no fallback).
	local := pptpc("local", "local-pw", false)
	local.wait(t, 30*time.Second)
	if strings.Contains(local.log.String(), "connected:") {
		t.Error("a local user logged in with [radius] and no fallback_local")
	}

	// A Framed-IP-Address outside the pool is routed to the TUN while the
	// session is up. (One client at a time here: the client namespace
	// routes 10.79.97.1 through its first tunnel only.)
	outside := pptpc("outside", "outside-pw", false)
	line = outside.log.waitFor(t, "connected:", 30*time.Second)
	if !strings.Contains(line, "local 10.79.98.5 ") {
		t.Fatalf("outside: %s", line)
	}
	if out, err := srv.Run("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.79.98.5"); err != nil {
		routes, _ := srv.Run("ip", "route")
		t.Fatalf("box -> outside ping: %v\n%s\nbox routes:\n%s", err, out, routes)
	}
	outside.cmd.Process.Signal(syscall.SIGINT)
	outside.wait(t, 15*time.Second)
	radiustest.WaitFor(t, 5*time.Second, "the outside route removed", func() bool {
		out, _ := srv.Run("ip", "route", "show", "10.79.98.5")
		return strings.TrimSpace(out) == ""
	})

	// Framed-IP-Address from the reply.
	fixed := pptpc("fixed", "fixed-pw", false)
	line = fixed.log.waitFor(t, "connected:", 30*time.Second)
	if !strings.Contains(line, "local 10.79.97.150 ") {
		t.Fatalf("fixed: %s", line)
	}
	if out, err := srv.Run("ping", "-c", "2", "-i", "0.2", "-W", "2", "10.79.97.150"); err != nil {
		t.Fatalf("box -> fixed ping: %v\n%s", err, out)
	}

	// RFC 5176 Disconnect-Request from FreeRADIUS's radclient, by the
	// Acct-Session-Id of fixed's Start: ACK, and the session ends.
	var fixedID string
	radiustest.WaitFor(t, 5*time.Second, "fixed's Start", func() bool {
		for _, r := range fr.Records() {
			if strings.Contains(r, "Acct-Status-Type = Start") && strings.Contains(r, `User-Name = "fixed"`) {
				fixedID = regexp.MustCompile(`Acct-Session-Id = "([^"]+)"`).FindStringSubmatch(r)[1]
				return true
			}
		}
		return false
	})
	radclientCmd := func(kind, attrs string) string {
		cmd := srv.Cmd("radclient", "-x", "-r", "1", "-t", "3", "127.0.0.1:3799", kind, fr.Secret)
		cmd.Stdin = strings.NewReader(attrs)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	radclient := func(attrs string) string { return radclientCmd("disconnect", attrs) }
	if out := radclient(`Acct-Session-Id = "` + fixedID + `"` + "\n"); !strings.Contains(out, "Disconnect-ACK") {
		t.Errorf("disconnect fixed: %s", out)
	}
	fixed.wait(t, 15*time.Second)
	// With a current Event-Timestamp the request is taken; with one an
	// hour old (a replay, RFC 5176 §6.3) it is silently discarded: no
	// answer, and dae_stale in boxctl stats below.
	ts := func(at time.Time) string { return "Event-Timestamp = " + strconv.FormatInt(at.Unix(), 10) + "\n" }
	if out := radclient("User-Name = \"nobody\"\n" + ts(time.Now())); !strings.Contains(out, "Disconnect-NAK") || !strings.Contains(out, "Session-Context-Not-Found") {
		t.Errorf("disconnect nobody: %s", out)
	}
	if out := radclient("User-Name = \"alice\"\n" + ts(time.Now().Add(-time.Hour))); !strings.Contains(out, "No reply") {
		t.Errorf("stale disconnect answered: %s", out)
	}
	radiustest.WaitFor(t, 5*time.Second, "fixed's Stop", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Terminate-Cause = Admin-Reset")
	})

	// boxd's clean stop with alice logged in again: her Stop
	// (Admin-Reboot), then Accounting-Off.
	again := pptpc("alice", "alice-pw", false)
	again.log.waitFor(t, "connected:", 30*time.Second)
	// RFC 5176 CoA-Request from radclient (FreeRADIUS's own dictionary of
	// Mikrotik-Rate-Limit): the live session's limit changes, ACK; an
	// attribute boxd cannot change: NAK Unsupported-Attribute, no change.
	if out := radclientCmd("coa", "User-Name = \"alice\"\nMikrotik-Rate-Limit = \"1M/4M\"\nSession-Timeout = 3600\n"); !strings.Contains(out, "CoA-ACK") {
		t.Errorf("coa alice: %s", out)
	}
	if out := radclientCmd("coa", "User-Name = \"alice\"\nMikrotik-Rate-Limit = \"64k\"\nFilter-Id = \"x\"\n"); !strings.Contains(out, "CoA-NAK") || !strings.Contains(out, "Unsupported-Attribute") {
		t.Errorf("coa with Filter-Id: %s", out)
	}
	if out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "sessions", "--json").CombinedOutput(); err != nil ||
		!regexp.MustCompile(`"user": "alice",[^}]*"rate_limit": "1M/4M"`).Match(out) {
		t.Errorf("after CoA, show sessions: %v\n%s", err, out)
	}
	// The operator sees the RADIUS counters next to the session server's.
	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "stats", "--json").CombinedOutput()
	if err != nil || !regexp.MustCompile(`"radius": \{[^}]*"rejects": 2,`).Match(out) || !strings.Contains(string(out), `"dae_stale": 1,`) || !strings.Contains(string(out), `"tun_malformed"`) {
		t.Errorf("boxctl show stats: %v\n%s", err, out)
	}
	// And /metrics shows the logins by reason and the RADIUS figures.
	m := scrapeNS(t, srv, "127.0.0.1:9100")
	for _, want := range []struct {
		series   string
		min, max float64
	}{
		{`pptpbox_logins_total`, 4, 4},
		{`pptpbox_sessions{state="up"}`, 1, 1},
		{`pptpbox_login_failures_total{reason="radius_reject"}`, 2, 2},
		{`pptpbox_login_failures_total{reason="unknown_user"}`, 0, 0},
		{`pptpbox_radius_access_replies_total{result="reject"}`, 2, 2},
		{`pptpbox_radius_access_replies_total{result="accept"}`, 4, 4},
		{`pptpbox_radius_latency_seconds_count`, 6, 1000},
		{`pptpbox_radius_latency_seconds_bucket{le="+Inf"}`, 6, 1000},
		{`pptpbox_radius_accounting_requests_total{result="answered"}`, 5, 1000},
		{`pptpbox_radius_dae_requests_total{result="ack"}`, 2, 2}, // Disconnect and CoA
		{`pptpbox_radius_dae_dropped_total{reason="stale"}`, 1, 1},
	} {
		if v, _, ok := m.find(strings.ReplaceAll(want.series, "+", `\+`)); !ok || v < want.min || v > want.max {
			t.Errorf("/metrics %s = %v (%v), want %v..%v", want.series, v, ok, want.min, want.max)
		}
	}
	boxd.cmd.Process.Signal(syscall.SIGTERM)
	if err := boxd.wait(t, 20*time.Second); err != nil {
		t.Errorf("boxd exit: %v\n%s", err, boxd.log.String())
	}
	if line := regexp.MustCompile(`msg="radius stopped".*`).FindString(boxd.log.String()); !strings.Contains(line, "bad_replies=0") ||
		!strings.Contains(line, "unreachable=0") || !strings.Contains(line, "acct_lost=0") || !strings.Contains(line, "rejects=2") {
		t.Errorf("boxd's radius counters: %q", line)
	} else {
		t.Logf("boxd: %s", line)
	}
	radiustest.WaitFor(t, 5*time.Second, "Accounting-Off", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Status-Type = Accounting-Off")
	})

	recs := fr.Records()
	var kinds []string
	for _, r := range recs {
		if m := regexp.MustCompile(`Acct-Status-Type = (\S+)`).FindStringSubmatch(r); m != nil {
			kinds = append(kinds, m[1])
		}
	}
	t.Logf("accounting records: %v", kinds)
	if len(kinds) < 6 || kinds[0] != "Accounting-On" || kinds[len(kinds)-1] != "Accounting-Off" {
		t.Errorf("records %v", kinds)
	}
	var aliceStop, fixedStop, rebootStop string
	for _, r := range recs {
		if strings.Contains(r, "Acct-Status-Type = Stop") {
			switch {
			case strings.Contains(r, "Admin-Reboot"):
				rebootStop = r
			case strings.Contains(r, `User-Name = "alice"`):
				aliceStop = r
			case strings.Contains(r, `User-Name = "fixed"`):
				fixedStop = r
			}
		}
	}
	if !strings.Contains(aliceStop, "Acct-Terminate-Cause = User-Request") ||
		!strings.Contains(aliceStop, `Class = 0x616c6963652d636c617373`) ||
		!strings.Contains(aliceStop, "Framed-IP-Address = 10.79.97.10") ||
		!strings.Contains(aliceStop, `Calling-Station-Id = "192.0.2.2"`) ||
		!strings.Contains(aliceStop, `NAS-Identifier = "pptpbox-e2e"`) {
		t.Errorf("alice's Stop:\n%s", aliceStop)
	}
	// Three 1000-byte pings each way at least (1028-octet IP packets).
	for _, k := range []string{"Acct-Input-Octets", "Acct-Output-Octets"} {
		n := -1
		if m := regexp.MustCompile(k + ` = (\d+)`).FindStringSubmatch(aliceStop); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n < 3*1028 || n > 100000 {
			t.Errorf("alice %s = %d, want about 3-6 x 1028", k, n)
		}
	}
	if !strings.Contains(fixedStop, "Acct-Terminate-Cause = Admin-Reset") || !strings.Contains(fixedStop, "Framed-IP-Address = 10.79.97.150") ||
		!strings.Contains(fixedStop, `Acct-Session-Id = "`+fixedID+`"`) {
		t.Errorf("fixed's Stop:\n%s", fixedStop)
	}
	if !strings.Contains(rebootStop, `User-Name = "alice"`) {
		t.Errorf("no Admin-Reboot Stop for alice at boxd's stop:\n%s", rebootStop)
	}
	t.Logf("alice's Stop record:\n%s", aliceStop)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
