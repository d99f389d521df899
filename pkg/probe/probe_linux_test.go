package probe

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestPingAndTracerouteNetns pings and traces from namespace a to b
// through the router namespace r, with the real raw socket:
//
//	a 10.0.1.2 --- 10.0.1.1 r 10.0.2.1 --- 10.0.2.2 b
func TestPingAndTracerouteNetns(t *testing.T) {
	netnstest.Require(t, "ip", "sysctl")
	a, r, b := netnstest.NewNS(t, "pra"), netnstest.NewNS(t, "prr"), netnstest.NewNS(t, "prb")
	netnstest.NewWire(t, a, "eth0", r, "eth0")
	netnstest.NewWire(t, r, "eth1", b, "eth0")
	for _, step := range []struct {
		ns  *netnstest.NS
		cmd string
	}{
		{a, "ip addr add 10.0.1.2/24 dev eth0"}, {a, "ip link set eth0 up"}, {a, "ip route add default via 10.0.1.1"},
		{r, "ip addr add 10.0.1.1/24 dev eth0"}, {r, "ip link set eth0 up"},
		{r, "ip addr add 10.0.2.1/24 dev eth1"}, {r, "ip link set eth1 up"}, {r, "sysctl -qw net.ipv4.ip_forward=1"},
		{b, "ip addr add 10.0.2.2/24 dev eth0"}, {b, "ip link set eth0 up"}, {b, "ip route add default via 10.0.2.1"},
	} {
		f := strings.Fields(step.cmd)
		if out, err := step.ns.Run(f[0], f[1:]...); err != nil {
			t.Fatalf("%s: %v %s", step.cmd, err, out)
		}
	}
	var c Conn
	if err := a.Do(func() (err error) { c, err = Listen(netip.Addr{}); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var lines []Line
	st, err := Ping(ctx, c, PingConfig{Target: netip.MustParseAddr("10.0.2.2"), Count: 3, Interval: 100 * time.Millisecond}, collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ping:\n%s", texts(lines))
	// b's reply crossed r: TTL 64 - 1.
	matchLines(t, lines, `PING 10\.0\.2\.2 \(10\.0\.2\.2\) 56\(84\) bytes of data\.`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=1 ttl=63 time=`+rtt+` ms`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=2 ttl=63 time=`+rtt+` ms`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=3 ttl=63 time=`+rtt+` ms`,
		`--- 10\.0\.2\.2 ping statistics ---`,
		`3 packets transmitted, 3 received, 0% packet loss, time \d+ms`,
		`rtt min/avg/max/mdev = .* ms`)
	if st.Received != 3 || st.Elapsed > 1500*time.Millisecond {
		t.Errorf("stats %+v", st)
	}

	lines = nil
	hops, err := Traceroute(ctx, c, TraceConfig{Target: netip.MustParseAddr("10.0.2.2"), Timeout: 2 * time.Second}, collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("traceroute:\n%s", texts(lines))
	r3 := `  ` + rtt + ` ms  ` + rtt + ` ms  ` + rtt + ` ms`
	matchLines(t, lines, `traceroute to 10\.0\.2\.2 \(10\.0\.2\.2\), 30 hops max, 60 byte packets`,
		` 1  10\.0\.1\.1`+r3, ` 2  10\.0\.2\.2`+r3)
	if len(hops) != 2 {
		t.Errorf("hops %+v", hops)
	}

	// No route: r answers host unreachable once ARP for 10.0.2.3 fails.
	lines = nil
	if _, err := Ping(ctx, c, PingConfig{Target: netip.MustParseAddr("10.0.2.3"), Count: 1, Timeout: 5 * time.Second}, collect(&lines)); err != nil {
		t.Fatal(err)
	}
	t.Logf("ping unreachable:\n%s", texts(lines))
	matchLines(t, lines, `PING .*`, `From 10\.0\.1\.1 icmp_seq=1 Destination Host Unreachable`, `--- .* ---`,
		`1 packets transmitted, 0 received, \+1 errors, 100% packet loss, time \d+ms`)
}
