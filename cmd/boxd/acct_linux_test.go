package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
)

// TestBoxdAccountingOutage is issue 11's "accounting that loses nothing"
// with real processes: no accounting server answers (FreeRADIUS not
// running: its ports refuse) while sessions log in (fallback_local),
// move counted traffic and end; boxd is stopped with SIGTERM in the
// outage (a session still up: its Stop is Admin-Reboot) and started again
// on the same -acct-spool; another session comes and goes; then
// FreeRADIUS starts on the same ports. Its detail file must get every
// Start and Stop, each Stop with its session's exact octets and the Start's
// Acct-Session-Id, every record with Acct-Delay-Time > 0 and an
// Event-Timestamp; the spool ends empty. The outage is ~15 s rather than
// issue 11's 60 s: the logic is the same (retries back off to 30 s at
// most, so the test waits up to 60 s after the server comes back);
// PPTPBOX_ACCT_OUTAGE=60s runs it with issue 11's.
func TestBoxdAccountingOutage(t *testing.T) {
	netnstest.Require(t, "ip")
	radiustest.Require(t)
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "asrv")
	cli := netnstest.NewNS(t, "acli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	const authPort, acctPort = 18120, 18130 // the namespace's own: free
	cfg, dir := writeConfig(t, `
[pptp]
listen = "192.0.2.1:1723"
[radius]
timeout = "1s"
retries = 1
fallback_local = true
[[radius.server]]
address = "127.0.0.1:`+strconv.Itoa(authPort)+`"
secret = "testing123"
acct_port = `+strconv.Itoa(acctPort)+`
[[user]]
name = "alice"
password = "alice-pw"
[[user]]
name = "bob"
password = "bob-pw"
[[user]]
name = "carol"
password = "carol-pw"
`)
	spool := filepath.Join(dir, "acct")
	outage := time.Now()
	boxd := func() *proc {
		p := startProc(t, srv.Cmd(filepath.Join(bin, "boxd"), "-config", cfg, "-control", "", "-acct-spool", spool))
		p.log.waitFor(t, "pptp server ready", 20*time.Second)
		return p
	}
	b1 := boxd()

	var mux *client.Mux
	if err := cli.Do(func() error {
		g, err := gre.ListenIPv4(netip.MustParseAddr("192.0.2.2"))
		mux = client.NewMux(g)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	// session logs user in, sends n echo requests of size octets to the
	// box and waits for each reply: n*size octets each way.
	session := func(b *proc, user string, n, size int) *client.Client {
		t.Helper()
		replies := make(chan []byte, 100)
		var c *client.Client
		if err := cli.Do(func() (err error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err = mux.Dial(ctx, client.Config{
				Server: "192.0.2.1:1723", ServerAddr: netip.MustParseAddr("192.0.2.1"),
				User: user, Password: user + "-pw", MPPE: ppp.MPPEPolicy{Required: true, Bits128: true},
				OnIP: func(p []byte) { replies <- append([]byte(nil), p...) },
			})
			return err
		}); err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		b.log.waitFor(t, `msg="session up" user=`+user, 10*time.Second)
		for i := range n {
			if err := c.WriteIP(echoRequest(c.Addr(), netip.MustParseAddr("10.79.97.1"), uint16(i), size)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-replies:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: no echo reply %d", user, i)
			}
		}
		return c
	}
	want := map[string]int{"alice": 10 * 100, "bob": 5 * 200, "carol": 3 * 300}

	alice := session(b1, "alice", 10, 100)
	alice.Close()
	b1.log.waitFor(t, `msg="session down" user=alice`, 10*time.Second)
	bob := session(b1, "bob", 5, 200)
	// boxd stops in the outage with bob's session up.
	b1.cmd.Process.Signal(syscall.SIGTERM)
	if err := b1.wait(t, 60*time.Second); err != nil {
		t.Fatalf("boxd exit: %v\n%s", err, b1.log.String())
	}
	bob.Close()
	files, _ := filepath.Glob(filepath.Join(spool, "*.acct"))
	if len(files) != 4 {
		t.Fatalf("spool after boxd stopped: %v, want alice's and bob's Start and Stop\n%s", files, b1.log.String())
	}

	b2 := boxd()
	b2.log.waitSeen(t, `msg="radius accounting: records from the spool queued"`, 10*time.Second)
	carol := session(b2, "carol", 3, 300)
	carol.Close()
	b2.log.waitFor(t, `msg="session down" user=carol`, 10*time.Second)
	hold := 15 * time.Second
	if v := os.Getenv("PPTPBOX_ACCT_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("PPTPBOX_ACCT_OUTAGE: %v", err)
		}
		hold = d
	}
	for time.Since(outage) < hold {
		time.Sleep(100 * time.Millisecond)
	}

	fr := radiustest.Start(t, radiustest.Options{AuthPort: authPort, AcctPort: acctPort, Users: radiusUsers, Command: srv.Cmd})
	t.Logf("FreeRADIUS up after an outage of %v", time.Since(outage).Round(time.Second))
	type rec struct{ start, stop string }
	got := map[string]*rec{}
	collect := func() bool {
		clear(got)
		for _, r := range fr.Records() {
			user := regexp.MustCompile(`User-Name = "([^"]+)"`).FindStringSubmatch(r)
			if user == nil {
				continue
			}
			if got[user[1]] == nil {
				got[user[1]] = &rec{}
			}
			switch {
			case strings.Contains(r, "Acct-Status-Type = Start"):
				got[user[1]].start = r
			case strings.Contains(r, "Acct-Status-Type = Stop"):
				got[user[1]].stop = r
			}
		}
		for u := range want {
			if got[u] == nil || got[u].start == "" || got[u].stop == "" {
				return false
			}
		}
		return true
	}
	radiustest.WaitFor(t, 60*time.Second, "every Start and Stop in the detail file", collect)
	attr := func(r, name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + ` = "?([^"\n]*)"?$`).FindStringSubmatch(r)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for u, octets := range want {
		r := got[u]
		for _, p := range []string{r.start, r.stop} {
			if d, _ := strconv.Atoi(attr(p, "Acct-Delay-Time")); d < 1 {
				t.Errorf("%s: Acct-Delay-Time %q:\n%s", u, attr(p, "Acct-Delay-Time"), p)
			}
			if attr(p, "Event-Timestamp") == "" {
				t.Errorf("%s: no Event-Timestamp:\n%s", u, p)
			}
		}
		if id := attr(r.start, "Acct-Session-Id"); id == "" || id != attr(r.stop, "Acct-Session-Id") {
			t.Errorf("%s: Start's Acct-Session-Id %q, Stop's %q", u, id, attr(r.stop, "Acct-Session-Id"))
		}
		for _, k := range []string{"Acct-Input-Octets", "Acct-Output-Octets"} {
			if v := attr(r.stop, k); v != fmt.Sprint(octets) {
				t.Errorf("%s: %s = %q, want %d", u, k, v, octets)
			}
		}
		if attr(r.stop, "Acct-Authentic") != "Local" {
			t.Errorf("%s: Acct-Authentic %q, want Local", u, attr(r.stop, "Acct-Authentic"))
		}
	}
	t.Logf("bob's Stop, from the spool of the boxd that stopped:\n%s", got["bob"].stop)
	if c := attr(got["bob"].stop, "Acct-Terminate-Cause"); c != "Admin-Reboot" {
		t.Errorf("bob's Stop cause %q, want Admin-Reboot (boxd stopped)", c)
	}
	radiustest.WaitFor(t, 10*time.Second, "an empty spool", func() bool {
		files, _ := filepath.Glob(filepath.Join(spool, "*"))
		return len(files) == 0
	})
	if t.Failed() {
		t.Logf("detail:\n%s\nboxd:\n%s", fr.Detail(), b2.log.String())
	}
	b2.cmd.Process.Signal(syscall.SIGTERM)
	b2.wait(t, 30*time.Second)
	if _, err := os.Stat(spool); err != nil {
		t.Error(err)
	}
}
