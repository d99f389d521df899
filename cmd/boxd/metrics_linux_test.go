package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// TestMetricsRealSession runs boxd with [metrics] on in one namespace, logs
// in from another with the in-process PPTP client (pkg/client), pings the
// box through the tunnel, and scrapes /metrics: the session shows with its
// bytes, and the totals and the login count agree.
func TestMetricsRealSession(t *testing.T) {
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "msrv")
	cli := netnstest.NewNS(t, "mcli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	cfg, _ := writeConfig(t, `
[pptp]
listen = "192.0.2.1:1723"
[metrics]
listen = "192.0.2.1:9100"
[[user]]
name = "alice"
password = "alice-pw"
`)
	boxd := startBoxd(t, srv, bin, cfg, "", "pptp server ready")
	boxd.log.waitSeen(t, "metrics endpoint listening", 10*time.Second)

	// Before any login: no session, one failed login after a bad password.
	var mux *client.Mux
	if err := cli.Do(func() error {
		g, err := gre.ListenIPv4(netip.MustParseAddr("192.0.2.2"))
		mux = client.NewMux(g)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	replies := make(chan []byte, 100)
	dial := func(pw string) (c *client.Client, err error) {
		err = cli.Do(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err = mux.Dial(ctx, client.Config{
				Server: "192.0.2.1:1723", ServerAddr: netip.MustParseAddr("192.0.2.1"),
				User: "alice", Password: pw, MPPE: ppp.MPPEPolicy{Required: true, Bits128: true},
				OnIP: func(p []byte) { replies <- append([]byte(nil), p...) },
			})
			return err
		})
		return c, err
	}
	if _, err := dial("wrong"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	c, err := dial("alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	boxd.log.waitFor(t, `msg="session up" user=alice`, 10*time.Second)

	// Ten pings of 100 bytes to the box's tunnel address.
	const n, size = 10, 100
	for i := range n {
		if err := c.WriteIP(echoRequest(c.Addr(), netip.MustParseAddr("10.79.97.1"), uint16(i), size)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-replies:
		case <-time.After(5 * time.Second):
			t.Fatalf("no echo reply %d", i)
		}
	}

	m := scrapeNS(t, cli, "192.0.2.1:9100")
	sess := fmt.Sprintf(`user="alice",call_id="%s",ip="%s"`, `\d+`, regexp.QuoteMeta(c.Addr().String()))
	for _, want := range []struct {
		re  string
		min float64
		max float64
	}{
		{`pptpbox_sessions{state="up"}`, 1, 1},
		{`pptpbox_logins_total`, 1, 1},
		{`pptpbox_login_failures_total{reason="bad_password"}`, 1, 1},
		{`pptpbox_pool_addresses_in_use`, 1, 1},
		{`pptpbox_session_info{` + sess + `,peer="192.0.2.2",mppe="MPPE 128-bit stateless"}`, 1, 1},
		// The session's counters: the pings and their replies, and
		// whatever else the client's stack sent (nothing here: no
		// TUN on the client side).
		{`pptpbox_session_packets_total{` + sess + `,direction="in"}`, n, n},
		{`pptpbox_session_packets_total{` + sess + `,direction="out"}`, n, n},
		{`pptpbox_session_bytes_total{` + sess + `,direction="in"}`, n * size, n * size},
		{`pptpbox_session_bytes_total{` + sess + `,direction="out"}`, n * size, n * size},
		{`pptpbox_traffic_bytes_total{direction="in"}`, n * size, n * size},
		{`pptpbox_traffic_bytes_total{direction="out"}`, n * size, n * size},
		{`pptpbox_build_info{version="dev",goversion="go[^"]+"}`, 1, 1},
		{`go_goroutines`, 1, 1e6},
		{`process_resident_memory_bytes`, 1, 1e12},
	} {
		v, series, ok := m.find(want.re)
		if !ok {
			t.Errorf("no series matches %s in\n%s", want.re, m.text)
		} else if v < want.min || v > want.max {
			t.Errorf("%s = %v, want %v..%v", series, v, want.min, want.max)
		}
	}
	for _, l := range strings.Split(m.text, "\n") {
		if strings.HasPrefix(l, "pptpbox_session") || strings.HasPrefix(l, "pptpbox_traffic") || strings.HasPrefix(l, "pptpbox_logins") {
			t.Log(l)
		}
	}

	// The session ends: its series go, the totals stay.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	boxd.log.waitFor(t, `msg="session down" user=alice`, 10*time.Second)
	m = scrapeNS(t, cli, "192.0.2.1:9100")
	if _, s, ok := m.find(`pptpbox_session_bytes_total{[^}]*}`); ok {
		t.Errorf("ended session still listed: %s", s)
	}
	if v, _, _ := m.find(`pptpbox_traffic_bytes_total{direction="in"}`); v != n*size {
		t.Errorf("bytes in after the session ended: %v, want %d", v, n*size)
	}
}

// echoRequest is an IPv4 ICMP echo request of size bytes.
func echoRequest(src, dst netip.Addr, seq uint16, size int) []byte {
	p := make([]byte, size)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(size))
	p[8], p[9] = 64, 1
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], ipv4frag.Checksum(p[:20]))
	icmp := p[20:]
	icmp[0] = 8
	binary.BigEndian.PutUint16(icmp[4:], 0x4242)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	binary.BigEndian.PutUint16(icmp[2:], ipv4frag.Checksum(icmp))
	return p
}

// scraped is a /metrics page.
type scraped struct{ text string }

// find returns the value of the first series matching the regular
// expression re (anchored; "{" and "}" literal).
func (s scraped) find(re string) (float64, string, bool) {
	re = strings.NewReplacer("{", `\{`, "}", `\}`).Replace(re)
	r := regexp.MustCompile(`(?m)^(` + re + `) (\S+)$`)
	m := r.FindStringSubmatch(s.text)
	if m == nil {
		return 0, "", false
	}
	v, err := strconv.ParseFloat(m[2], 64)
	return v, m[1], err == nil
}

// scrapeNS gets /metrics from addr, from inside ns.
func scrapeNS(t *testing.T, ns *netnstest.NS, addr string) scraped {
	t.Helper()
	var body string
	err := ns.Do(func() error {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %s: %s", resp.Status, b)
		}
		body = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return scraped{body}
}
