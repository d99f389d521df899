package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// scaleSessions is the load of TestBoxdScale: small enough for a CI run on
// two cores; PPTPBOX_SCALE=N runs a larger one by hand.
const scaleSessions = 500

// TestBoxdScale runs boxd in one namespace and `pptpc -sessions N` in
// another: every session must come up, boxd must count exactly N sessions
// and N pool addresses while they are held, and none once the client has
// hung up.
func TestBoxdScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test: skipped with -short")
	}
	n := scaleSessions
	if v := os.Getenv("PPTPBOX_SCALE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 || n > 2000 {
			t.Fatalf("PPTPBOX_SCALE=%q: want 1..2000 (the pool holds 2033)", v)
		}
	}
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "srv")
	cli := netnstest.NewNS(t, "cli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	// One user, many sessions from one address: single_session = "off",
	// no per-source limits. The pool
	// 10.79.0.10-10.79.7.250 holds 2033 addresses.
	cfg, dir := writeConfig(t, `
[log]
level = "warn"
[pptp]
listen = "192.0.2.1:1723"
local_ip = "10.79.8.1"
remote_ip = "10.79.0.10-10.79.7.250"
single_session = "off"
max_sessions = 2032
# One source opens every session at once: the per-source limits
# against floods (issue 14) are off, and max_connections holds them all.
max_connections = 2100
max_connections_per_source = 0
max_unauthenticated_per_source = 0
[[user]]
name = "load"
password = "load-pw"
`)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, srv, bin, cfg, sock, "")
	boxLog := boxd.log
	// At level warn the ready line is not logged: wait for the control socket.
	stats := func() (session.StatsSnapshot, error) {
		var st session.StatsSnapshot
		out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "stats", "--json").Output()
		if err != nil {
			return st, fmt.Errorf("boxctl show stats: %v", err)
		}
		return st, json.Unmarshal(out, &st)
	}
	waitStats := func(what string, d time.Duration, ok func(session.StatsSnapshot) bool) session.StatsSnapshot {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			st, err := stats()
			if err == nil && ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s: %+v %v\nboxd:\n%s", what, d, st, err, boxLog.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitStats("boxd ready", 20*time.Second, func(session.StatsSnapshot) bool { return true })

	hold := 5 * time.Second
	start := time.Now()
	pptpc := startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", "load", "-password", "load-pw",
		"-sessions", strconv.Itoa(n), "-hold", hold.String()))
	cliLog := pptpc.log

	line := cliLog.waitFor(t, "sessions up:", 90*time.Second)
	t.Logf("pptpc: %s", line)
	want := fmt.Sprintf("sessions up: %d of %d ", n, n)
	if !strings.HasPrefix(line, want) {
		time.Sleep(100 * time.Millisecond) // the rest of the report
		t.Fatalf("want %q...; pptpc output:\n%s\n%s", want, cliLog.String(), netDrops(srv, cli))
	}
	t.Logf("pptpc: %s", cliLog.waitFor(t, "set-up time:", 5*time.Second))

	// Held: boxd counts every session, each with a pool address.
	st := waitStats("sessions held", hold/2, func(st session.StatsSnapshot) bool {
		return st.Sessions == n && st.PoolInUse == n && st.Conns == n
	})
	t.Logf("%s", netDrops(srv, cli))
	t.Logf("boxd held %d sessions, %d control connections, pool %d of %d in use, VmRSS %s, gre_dropped %d, send_errors %d",
		st.Sessions, st.Conns, st.PoolInUse, st.PoolSize, vmRSS(boxd.cmd.Process.Pid), st.GREDropped, st.SendErrors)
	if st.AuthFailures != 0 || st.CallsRefused != 0 {
		t.Errorf("auth failures %d, calls refused %d", st.AuthFailures, st.CallsRefused)
	}

	if err := pptpc.wait(t, hold+30*time.Second); err != nil {
		t.Fatalf("pptpc: %v\n%s", err, cliLog.String())
	}
	hungUp := time.Since(start)
	waitStats("all sessions gone", 15*time.Second, func(st session.StatsSnapshot) bool {
		return st.Sessions == 0 && st.PoolInUse == 0 && st.Conns == 0
	})
	t.Logf("all %d sessions gone %s after pptpc exited", n, (time.Since(start) - hungUp).Round(time.Millisecond))
	if s := boxLog.String(); strings.Contains(s, "level=ERROR") {
		t.Errorf("boxd logged errors:\n%s", s)
	}
}

// netDrops reports where packets were lost: each side's wire end (a full
// tap queue drops) and its raw GRE sockets (a full receive buffer drops).
func netDrops(nss ...*netnstest.NS) string {
	var b strings.Builder
	for _, ns := range nss {
		link, _ := ns.Run("ip", "-s", "link", "show", "eth0")
		raw, _ := ns.Run("cat", "/proc/net/raw")
		fmt.Fprintf(&b, "%s:\n%s%s", ns.Name, link, raw)
	}
	return b.String()
}

// vmRSS is the resident set of process pid, from /proc/PID/status.
func vmRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
