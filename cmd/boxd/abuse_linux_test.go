package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/internal/flood"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// The abuse test (issue 14, "the proof"): boxd as a real process under a
// router's descriptor limits (soft 1024, hard 4096), one address flooding
// TCP 1723 with idle connections and connections that stop in the middle
// of their Start-Control-Connection-Request, another with half-open
// connections (SYNs whose SYN-ACK never gets an answer), a third with
// re-armed pre-authentication call floods. Meanwhile two real users log in
// with pptpc from a fourth address and pass traffic; boxd never exits and
// counts every refusal. Then more addresses fill max_connections: the
// logged-in users keep passing traffic.
//
// Addresses, all on the client namespace's eth0: 192.0.2.2 real users,
// .3 idle flood, .4 half-open flood, .5 call flood, .100-.111 the fill.
func TestBoxdAbuse(t *testing.T) {
	if testing.Short() {
		t.Skip("abuse test: skipped with -short")
	}
	netnstest.Require(t, "ip", "ping", "prlimit", "nft")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "srv")
	cli := netnstest.NewNS(t, "cli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	for _, a := range []string{"192.0.2.3", "192.0.2.4", "192.0.2.5"} {
		mustRun(t, cli, "ip", "addr", "add", a+"/24", "dev", "eth0")
	}
	var fill []string
	for i := 100; i < 112; i++ {
		a := fmt.Sprintf("192.0.2.%d", i)
		fill = append(fill, a)
		mustRun(t, cli, "ip", "addr", "add", a+"/24", "dev", "eth0")
	}
	// Half-open: the SYN-ACKs to .4 are dropped, so its connections stay
	// in the server's SYN queue until the kernel gives up on them.
	mustRun(t, cli, "nft", "add table inet flood")
	mustRun(t, cli, "nft", "add chain inet flood in { type filter hook input priority 0 ; }")
	mustRun(t, cli, "nft", "add rule inet flood in ip daddr 192.0.2.4 tcp sport 1723 tcp flags & (syn|ack) == syn|ack drop")
	// A small listen backlog (boxd's is net.core.somaxconn, read at listen
	// time): with syncookies on, the SYN queue is bounded by it, and the
	// half-open flood overflows it into syncookies.
	mustRun(t, srv, "sysctl", "-qw", "net.core.somaxconn=128")
	syncookies, _ := srv.Run("sysctl", "-n", "net.ipv4.tcp_syncookies")

	// Small caps so that a CI-sized flood reaches each of them:
	// max_sessions 6 is less than what the call flood would take without
	// its budget of 4.
	cfg, dir := writeConfig(t, `
[log]
level = "info"
[pptp]
listen = "192.0.2.1:1723"
max_sessions = 6
max_connections = 48
max_connections_per_source = 8
max_calls_per_connection = 1
max_unauthenticated_per_source = 4
start_timeout = "2s"
login_timeout = "5s"
[[user]]
name = "alice"
password = "alice-pw"
[[user]]
name = "bob"
password = "bob-pw"
`)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startProc(t, srv.Cmd("prlimit", "--nofile=1024:4096", "--", filepath.Join(bin, "boxd"), "-config", cfg, "-control", sock))
	boxd.log.waitFor(t, "pptp server ready", 20*time.Second)
	if !strings.Contains(boxd.log.String(), `msg="descriptor limit" soft=4096 hard=4096`) {
		t.Errorf("boxd did not raise its descriptor limit:\n%s", boxd.log.String())
	}
	if lim, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", boxd.cmd.Process.Pid)); err == nil {
		for _, l := range strings.Split(string(lim), "\n") {
			if strings.HasPrefix(l, "Max open files") {
				t.Logf("boxd: %s", strings.Join(strings.Fields(l), " "))
			}
		}
	}
	alive := func(when string) {
		t.Helper()
		select {
		case <-boxd.done:
			t.Fatalf("boxd exited %s: %v\n%s", when, boxd.err, boxd.log.String())
		default:
		}
	}

	floodFor := 12 * time.Second
	floods := map[string]*proc{}
	for _, f := range []flood.Spec{
		{Mode: "idle", Src: []string{"192.0.2.3"}, Workers: 16, Pause: 5 * time.Millisecond},
		{Mode: "halfopen", Src: []string{"192.0.2.4"}, Workers: 2000},
		{Mode: "calls", Src: []string{"192.0.2.5"}, Workers: 8},
	} {
		f.Target, f.For = "192.0.2.1:1723", floodFor
		floods[f.Mode] = startFlood(t, cli, f)
	}
	time.Sleep(2 * time.Second) // let the floods fill what they can

	// Two real users log in from another address while the floods run.
	var users []*proc
	for i, u := range []string{"alice", "bob"} {
		p := startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", u, "-password", u+"-pw",
			"-tun", fmt.Sprintf("pptpc%d", i)))
		users = append(users, p)
	}
	for i, p := range users {
		line := p.log.waitFor(t, "connected:", 30*time.Second)
		t.Logf("user %d: %s", i, line)
		if out, err := cli.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", fmt.Sprintf("pptpc%d", i), "10.79.97.1"); err != nil {
			t.Fatalf("ping through user %d's tunnel during the flood: %v\n%s", i, err, out)
		}
	}
	alive("during the flood")

	results := map[string]flood.Result{}
	for mode, p := range floods {
		results[mode] = p.floodResult(t, floodFor+30*time.Second)
		t.Logf("flood %s: %+v", mode, results[mode])
	}
	alive("after the flood")

	// Fill max_connections from twelve more addresses: refused once it is
	// full, and the users' sessions keep passing traffic.
	fillP := startFlood(t, cli, flood.Spec{Mode: "idle", Src: fill, Workers: 64, Pause: 20 * time.Millisecond, Target: "192.0.2.1:1723", For: 4 * time.Second})
	time.Sleep(2 * time.Second)
	for i := range users {
		if out, err := cli.Run("ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", fmt.Sprintf("pptpc%d", i), "10.79.97.1"); err != nil {
			t.Fatalf("ping through user %d's tunnel with max_connections full: %v\n%s", i, err, out)
		}
	}
	results["fill"] = fillP.floodResult(t, 30*time.Second)
	t.Logf("flood fill: %+v", results["fill"])
	alive("after the fill")

	// What the half-open flood did to the box's kernel (syncookies are
	// on by default: the SYN queue overflows without refusing anyone).
	if out, err := srv.Run("nstat", "-az", "TcpExtSyncookiesSent", "TcpExtListenOverflows", "TcpExtListenDrops"); err == nil {
		t.Logf("box kernel: %s", strings.Join(strings.Fields(out), " "))
		// The half-open flood must have filled the SYN queue, or it
		// tested nothing.
		if f := strings.Fields(out); len(f) > 2 && f[1] == "TcpExtSyncookiesSent" && f[2] == "0" {
			t.Errorf("the half-open flood did not overflow the SYN queue: %s", out)
		}
	}
	st := boxctlStats(t, bin, sock)
	t.Logf("boxd limits %+v control %+v sessions %d conns %d calls_refused %d auth_failures %d syncookies %s",
		st.Limits, st.Control, st.Sessions, st.Conns, st.CallsRefused, st.AuthFailures, strings.TrimSpace(syncookies))
	l := st.Limits
	for name, v := range map[string]uint64{
		"conns_refused_per_source": l.ConnsRefusedPerSource,
		"conns_refused_global":     l.ConnsRefusedGlobal,
		"calls_refused_per_conn":   l.CallsRefusedPerConn,
		"calls_refused_unauth":     l.CallsRefusedUnauth,
		"login_timeouts":           l.LoginTimeouts,
		"control.start_timeouts":   st.Control.StartTimeouts,
	} {
		if v == 0 {
			t.Errorf("%s did not move", name)
		}
	}
	if r := results["idle"]; r.Conns < 1000 {
		t.Errorf("the idle flood made only %d connections (want thousands)", r.Conns)
	}
	if r := results["halfopen"]; r.Conns < 1000 {
		t.Errorf("the half-open flood opened only %d", r.Conns)
	}
	if r := results["calls"]; r.CallsConnected == 0 || r.CallsNoResource == 0 || r.CallsDoNotAccept == 0 || r.CallsConnected <= 4 {
		t.Errorf("call flood: %+v (want calls connected, re-armed after the login timeout, and refused both ways)", r)
	}
	for i, p := range users {
		if n := strings.Count(p.log.String(), "link down"); n != 0 {
			t.Errorf("user %d's link went down during the flood:\n%s", i, p.log.String())
		}
	}
	if s := boxd.log.String(); strings.Contains(s, "level=ERROR") {
		t.Errorf("boxd logged errors:\n%s", s)
	}
	// The refusal lines are rate-limited: far fewer than the refusals.
	if n := strings.Count(boxd.log.String(), `msg="control connection refused"`); uint64(n) > 1+(l.ConnsRefusedPerSource+l.ConnsRefusedGlobal)/10 {
		t.Errorf("%d refusal log lines for %d refusals", n, l.ConnsRefusedPerSource+l.ConnsRefusedGlobal)
	}
	alive("at the end")
}

func mustRun(t *testing.T, ns *netnstest.NS, name string, args ...string) {
	t.Helper()
	if out, err := ns.Run(name, args...); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func boxctlStats(t *testing.T, bin, sock string) session.StatsSnapshot {
	t.Helper()
	var st session.StatsSnapshot
	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "stats", "--json").Output()
	if err != nil {
		t.Fatalf("boxctl show stats: %v", err)
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("boxctl show stats: %v\n%s", err, out)
	}
	return st
}

func startFlood(t *testing.T, ns *netnstest.NS, f flood.Spec) *proc {
	t.Helper()
	args := flood.Args(f, "TestAbuseFloodHelper")
	return startProc(t, ns.Cmd(args[0], args[1:]...))
}

func (p *proc) floodResult(t *testing.T, d time.Duration) flood.Result {
	t.Helper()
	r, err := flood.ParseResult(p.log.waitFor(t, "FLOOD ", d))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAbuseFloodHelper is not a test: TestBoxdAbuse runs the test binary
// with flood.Env set to run one flood in the attacker's namespace.
func TestAbuseFloodHelper(t *testing.T) { flood.Helper(t) }
