package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// rateLimit is the limited user's rate_limit: 2 Mbit/s each way, far below
// what a loaded 2-core machine moves through boxd.
const (
	rateLimit    = "2M/2M"
	rateShown    = "2M" // as boxd writes it back: one value for both ways
	rateLimitBPS = 2_000_000
	measureFor   = 10 * time.Second
)

// TestBoxdRateLimit is the proof of the per-session rate limit on a real
// kernel: boxd in one namespace, two pptpc clients in two others (user
// "slow" with [[user]] rate_limit = "2M/2M", user "fast" without), TCP
// between each client and the box's tunnel address. Over 10 s the slow
// session's TCP payload rate is within ±10% of the limit downstream (box
// to client, the tx bucket) and upstream (rx), while the fast session
// beside it moves well above the limit; show sessions names the limit and
// the packets it dropped.
func TestBoxdRateLimit(t *testing.T) {
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "rlsrv")
	slowNS := netnstest.NewNS(t, "rlslow")
	fastNS := netnstest.NewNS(t, "rlfast")
	linkPair(t, srv, "192.0.2.1/24", slowNS, "192.0.2.2/24")
	netnstest.NewWire(t, srv, "eth1", fastNS, "eth0")
	for ns, args := range map[*netnstest.NS][][]string{
		srv:    {{"addr", "add", "198.51.100.1/24", "dev", "eth1"}, {"link", "set", "eth1", "up"}},
		fastNS: {{"addr", "add", "198.51.100.2/24", "dev", "eth0"}, {"link", "set", "eth0", "up"}},
	} {
		for _, a := range args {
			if out, err := ns.Run("ip", a...); err != nil {
				t.Fatalf("ip %v: %v %s", a, err, out)
			}
		}
	}
	cfg, dir := writeConfig(t, `
[pptp]
listen = ":1723"
[[user]]
name = "slow"
password = "slow-pw"
rate_limit = "`+rateLimit+`"
[[user]]
name = "fast"
password = "fast-pw"
`)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, srv, bin, cfg, sock, "pptp server ready")
	slowIP := connectClient(t, slowNS, bin, "192.0.2.1", "slow")
	fastIP := connectClient(t, fastNS, bin, "198.51.100.1", "fast")
	boxd.log.waitSeen(t, `msg="session up" user=fast`, 10*time.Second)
	boxd.log.waitSeen(t, `msg="session up" user=slow`, 10*time.Second)

	// The box's end: port 5001 sends to whoever connects, 5002 reads.
	var down, up net.Listener
	if err := srv.Do(func() (err error) {
		if down, err = net.Listen("tcp4", ":5001"); err != nil {
			return err
		}
		up, err = net.Listen("tcp4", ":5002")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close(); up.Close() })
	go serveEach(down, func(c net.Conn) { sendAll(c) })
	upRate := make(chan float64, 1)
	go serveEach(up, func(c net.Conn) { upRate <- receiveRate(c) })

	// Downstream, both sessions at once.
	var wg sync.WaitGroup
	rates := map[string]float64{}
	var mu sync.Mutex
	for name, ns := range map[string]*netnstest.NS{"slow": slowNS, "fast": fastNS} {
		c := dialFrom(t, ns, "10.79.97.1:5001")
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := receiveRate(c)
			mu.Lock()
			rates[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Upstream, the slow session.
	c := dialFrom(t, slowNS, "10.79.97.1:5002")
	go sendAll(c)
	rates["slow up"] = <-upRate
	c.Close()

	t.Logf("TCP payload over %v: slow down %.3f Mbit/s, slow up %.3f Mbit/s, fast down %.1f Mbit/s (limit %s)",
		measureFor, rates["slow"]/1e6, rates["slow up"]/1e6, rates["fast"]/1e6, rateLimit)
	for _, k := range []string{"slow", "slow up"} {
		if r := rates[k]; r < 0.9*rateLimitBPS || r > 1.1*rateLimitBPS {
			t.Errorf("%s: %.3f Mbit/s, not within 10%% of %d bit/s", k, r/1e6, rateLimitBPS)
		}
	}
	if r := rates["fast"]; r < 4*rateLimitBPS {
		t.Errorf("fast (unlimited) session beside it: %.3f Mbit/s, want well above the limit", r/1e6)
	}

	// show sessions: the limit and its drops on the slow session only.
	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "sessions", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("boxctl show sessions: %v\n%s", err, out)
	}
	var ss []struct {
		User       string `json:"user"`
		IP         string `json:"ip"`
		RateLimit  string `json:"rate_limit"`
		LimitedIn  uint64 `json:"limited_in"`
		LimitedOut uint64 `json:"limited_out"`
	}
	if err := json.Unmarshal(out, &ss); err != nil {
		t.Fatalf("show sessions --json: %v\n%s", err, out)
	}
	for _, s := range ss {
		t.Logf("session %s %s: rate_limit %q, dropped %d in, %d out", s.User, s.IP, s.RateLimit, s.LimitedIn, s.LimitedOut)
		switch s.User {
		case "slow":
			if s.IP != slowIP || s.RateLimit != rateShown || s.LimitedIn == 0 || s.LimitedOut == 0 {
				t.Errorf("slow session: %+v", s)
			}
		case "fast":
			if s.IP != fastIP || s.RateLimit != "" || s.LimitedIn != 0 || s.LimitedOut != 0 {
				t.Errorf("fast session: %+v", s)
			}
		}
	}
	if len(ss) != 2 {
		t.Errorf("%d sessions, want 2:\n%s", len(ss), out)
	}
	if out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "sessions").CombinedOutput(); err != nil ||
		!regexp.MustCompile(`slow .* `+regexp.QuoteMeta(rateShown)+` `).Match(out) {
		t.Errorf("show sessions has no LIMIT %s for slow: %v\n%s", rateShown, err, out)
	}
}

// connectClient runs pptpc for user in ns and returns its tunnel address.
func connectClient(t *testing.T, ns *netnstest.NS, bin, server, user string) string {
	t.Helper()
	p := startProc(t, ns.Cmd(filepath.Join(bin, "pptpc"), "-server", server, "-user", user, "-password", user+"-pw"))
	line := p.log.waitFor(t, "connected:", 30*time.Second)
	m := regexp.MustCompile(`connected: local (\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("pptpc %s: %s", user, line)
	}
	return m[1]
}

func dialFrom(t *testing.T, ns *netnstest.NS, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) { c, err = net.DialTimeout("tcp4", addr, 10*time.Second); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func serveEach(ln net.Listener, fn func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() { defer c.Close(); fn(c) }()
	}
}

// sendAll writes to c until the other end goes away.
func sendAll(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// receiveRate reads c for measureFor from its first byte and returns the
// payload rate in bits/s; it closes c, which stops the sender. 0 if the
// connection failed.
func receiveRate(c net.Conn) float64 {
	defer c.Close()
	buf := make([]byte, 64<<10)
	var n int64
	var start time.Time
	for {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := c.Read(buf)
		if k > 0 && start.IsZero() {
			start = time.Now()
			k = 0 // the first read arrived before the clock started
		}
		n += int64(k)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Println("receiveRate:", err)
			}
			return 0
		}
		if el := time.Since(start); el >= measureFor {
			return float64(n*8) / el.Seconds()
		}
	}
}
