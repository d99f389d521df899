package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/internal/flood"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// TestRealClientUnderFlood is issue 14's proof with the real client: boxd
// in the bench namespace under a router's descriptor limits (soft 1024,
// hard 4096), three addresses of that namespace flooding TCP 1723 (idle
// and half-sent connections, half-open ones, re-armed pre-auth call
// floods: the same floods as cmd/boxd's TestBoxdAbuse), while Debian's
// pppd + pptp-linux logs in from the guest and passes traffic. boxd never
// exits and counts the refusals. max_sessions is 5: without the per-source
// budget of unauthenticated calls the call flood takes every slot.
func TestRealClientUnderFlood(t *testing.T) {
	vmtest.Gate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// boxd inherits the test's limits (Go passes a limit set with
	// Setrlimit on to children): a router's init gives 1024/4096.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1024, Max: 4096}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })

	cfg := strings.Replace(rig.DefaultConfig(), "[pptp]\n", `[pptp]
max_sessions = 5
max_connections = 64
max_connections_per_source = 8
max_calls_per_connection = 1
max_unauthenticated_per_source = 4
start_timeout = "2s"
login_timeout = "5s"
`, 1)
	r := startRigWith(t, ctx, rig.Options{Config: cfg})
	g := r.Guest
	if lim, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", r.Boxd.PID())); err == nil {
		for _, l := range strings.Split(string(lim), "\n") {
			if strings.HasPrefix(l, "Max open files") {
				t.Logf("boxd: %s", strings.Join(strings.Fields(l), " "))
				if f := strings.Fields(l); len(f) < 5 || f[3] != "4096" {
					t.Errorf("boxd's soft descriptor limit is not the hard one: %s", l)
				}
			}
		}
	}
	// The floods come from other addresses of the box's namespace (over
	// lo): .3 idle, .4 half-open (its SYN-ACKs dropped), .5 calls.
	for _, a := range []string{"192.0.2.3", "192.0.2.4", "192.0.2.5"} {
		if out, err := r.NS.Run(ctx, "ip", "addr", "add", a+"/32", "dev", "lo"); err != nil {
			t.Fatalf("ip addr add %s: %v %s", a, err, out)
		}
	}
	for _, rule := range []string{
		"add table inet flood",
		"add chain inet flood in { type filter hook input priority 0 ; }",
		"add rule inet flood in ip daddr 192.0.2.4 tcp sport 1723 tcp flags & (syn|ack) == syn|ack drop",
	} {
		if out, err := r.NS.Run(ctx, "nft", rule); err != nil {
			t.Fatalf("nft %s: %v %s", rule, err, out)
		}
	}
	floodFor := 25 * time.Second
	type running struct {
		mode string
		cmd  *exec.Cmd
		out  bytes.Buffer
	}
	var floods []*running
	for _, f := range []flood.Spec{
		{Mode: "idle", Src: []string{"192.0.2.3"}, Workers: 16, Pause: 5 * time.Millisecond},
		{Mode: "halfopen", Src: []string{"192.0.2.4"}, Workers: 2000},
		{Mode: "calls", Src: []string{"192.0.2.5"}, Workers: 8},
	} {
		f.Target, f.For = rig.BoxAddr.String()+":1723", floodFor
		args := flood.Args(f, "TestAbuseFloodHelper")
		p := &running{mode: f.Mode, cmd: r.NS.Command(ctx, args[0], args[1:]...)}
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
		floods = append(floods, p)
	}
	time.Sleep(3 * time.Second) // let the floods take what they can

	good := rig.Client{User: rig.User, Password: rig.Password}
	res := dialUp(t, ctx, g, good)
	if res.Status != 0 {
		t.Fatalf("pppd exited %d during the flood:\n%s\nboxd:\n%s", res.Status, res.Log, r.Boxd.Log.String())
	}
	t.Logf("the real client logged in during the flood: local %v", res.LocalIP)
	if out, err := g.MustRun(ctx, "ping -c 5 -i 0.5 -W 5 "+rig.LocalIP.String()); err != nil {
		t.Fatalf("guest -> %v during the flood: %v\n%s", rig.LocalIP, err, out)
	}
	if !r.Boxd.Alive() {
		t.Fatal("boxd exited during the flood")
	}
	for _, p := range floods {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("flood: %v\n%s", err, p.out.String())
		}
		fr, err := flood.ParseResult(p.out.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("flood %s: %+v", p.mode, fr)
	}
	if !r.Boxd.Alive() {
		t.Fatal("boxd exited after the flood")
	}
	if out, err := g.MustRun(ctx, "pidof pppd && ping -c 3 -W 5 "+rig.LocalIP.String()); err != nil {
		t.Fatalf("the real client's link after the flood: %v\n%s", err, out)
	}
	st, err := r.Boxd.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boxd limits %+v start_timeouts %d sessions %d", st.Limits, st.Control.StartTimeouts, st.Sessions)
	l := st.Limits
	for name, v := range map[string]uint64{
		"conns_refused_per_source": l.ConnsRefusedPerSource,
		"calls_refused_per_conn":   l.CallsRefusedPerConn,
		"calls_refused_unauth":     l.CallsRefusedUnauth,
		"login_timeouts":           l.LoginTimeouts,
		"control.start_timeouts":   st.Control.StartTimeouts,
	} {
		if v == 0 {
			t.Errorf("%s did not move", name)
		}
	}
}

// TestAbuseFloodHelper is not a test: TestRealClientUnderFlood runs the
// test binary with flood.Env set to run one flood in the bench namespace.
func TestAbuseFloodHelper(t *testing.T) { flood.Helper(t) }
