package probe

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// collect gathers output lines.
func collect(lines *[]Line) func(Line) error {
	return func(l Line) error { *lines = append(*lines, l); return nil }
}

func texts(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// matchLines checks lines against regular expressions, one each, in order.
func matchLines(t *testing.T, lines []Line, want ...string) {
	t.Helper()
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), texts(lines))
	}
	for i, re := range want {
		if !regexp.MustCompile("^" + re + "$").MatchString(lines[i].Text) {
			t.Errorf("line %d: %q does not match %q", i, lines[i].Text, re)
		}
	}
	for i, l := range lines {
		if l.Last != (i == len(lines)-1) {
			t.Errorf("line %d Last=%v", i, l.Last)
		}
	}
}

const rtt = `\d+\.\d+`

// TestPingMatching: replies are matched by identifier and sequence number
// and source; another program's replies, a duplicate, a reply from another
// address and our own request seen on loopback are not counted as ours.
func TestPingMatching(t *testing.T) {
	c := newFakeConn(func(req []byte, dst netip.Addr, ttl int) []fakeMsg {
		r := echoReply(req)
		other := append([]byte(nil), r...)
		other[4]++ // another identifier (checksum not checked, as the kernel did)
		msgs := []fakeMsg{
			{data: req, src: me},    // our own request
			{data: other, src: dst}, // another ping's reply
			{data: r, src: router},  // right id, wrong source
			{data: r, src: dst, ttl: 63, delay: 5 * time.Millisecond},
		}
		if reqSeq(req) == 2 {
			msgs = append(msgs, fakeMsg{data: r, src: dst, ttl: 63, delay: 10 * time.Millisecond}) // duplicate
		}
		return msgs
	})
	var lines []Line
	st, err := Ping(context.Background(), c, PingConfig{Target: target, Count: 3, Interval: 30 * time.Millisecond, Timeout: time.Second, ID: 0x4242}, collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	matchLines(t, lines,
		`PING 10\.0\.2\.2 \(10\.0\.2\.2\) 56\(84\) bytes of data\.`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=1 ttl=63 time=`+rtt+` ms`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=2 ttl=63 time=`+rtt+` ms`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=2 ttl=63 \(DUP!\)`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=3 ttl=63 time=`+rtt+` ms`,
		`--- 10\.0\.2\.2 ping statistics ---`,
		`3 packets transmitted, 3 received, \+1 duplicates, 0% packet loss, time \d+ms`,
		`rtt min/avg/max/mdev = `+rtt+`/`+rtt+`/`+rtt+`/`+rtt+` ms`,
	)
	// The run ends with the last reply, not at the timeout.
	if st.Sent != 3 || st.Received != 3 || st.Duplicates != 1 || st.Min < 5*time.Millisecond || st.Max > time.Second || st.Elapsed > 500*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
}

// TestPingLossAndErrors: a lost request is reported once its timeout
// passes, a router's unreachable names the router, and both count in the
// summary; a reply after the timeout is not counted.
func TestPingLossAndErrors(t *testing.T) {
	c := newFakeConn(func(req []byte, dst netip.Addr, ttl int) []fakeMsg {
		switch reqSeq(req) {
		case 2:
			return []fakeMsg{{data: echoReply(req), src: dst, ttl: 63, delay: 300 * time.Millisecond}} // too late
		case 3:
			return []fakeMsg{{data: icmpError(ipv4.ICMPTypeDestinationUnreachable, 1, me, dst, req), src: router, ttl: 64}}
		}
		return []fakeMsg{{data: echoReply(req), src: dst, ttl: 63}}
	})
	var lines []Line
	st, err := Ping(context.Background(), c, PingConfig{Target: target, Count: 4, Interval: 20 * time.Millisecond, Timeout: 100 * time.Millisecond, ID: 7}, collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	// Seq 4 is answered at once, before seq 2 times out.
	matchLines(t, lines,
		`PING .*`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=1 ttl=63 time=`+rtt+` ms`,
		`From 10\.0\.1\.1 icmp_seq=3 Destination Host Unreachable`,
		`64 bytes from 10\.0\.2\.2: icmp_seq=4 ttl=63 time=`+rtt+` ms`,
		`no answer yet for icmp_seq=2`,
		`--- 10\.0\.2\.2 ping statistics ---`,
		`4 packets transmitted, 2 received, \+1 errors, 50% packet loss, time \d+ms`,
		`rtt min/avg/max/mdev = .*`,
	)
	if st.Received != 2 || st.Errors != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestPingNoAnswerAndCancel: nothing comes back, the summary has no rtt
// line; ctx ends a run early, and the summary is still written.
func TestPingNoAnswerAndCancel(t *testing.T) {
	silent := newFakeConn(func([]byte, netip.Addr, int) []fakeMsg { return nil })
	var lines []Line
	if _, err := Ping(context.Background(), silent, PingConfig{Target: target, Count: 2, Interval: 10 * time.Millisecond, Timeout: 30 * time.Millisecond}, collect(&lines)); err != nil {
		t.Fatal(err)
	}
	matchLines(t, lines, `PING .*`, `no answer yet for icmp_seq=1`, `no answer yet for icmp_seq=2`,
		`--- .* ---`, `2 packets transmitted, 0 received, 100% packet loss, time \d+ms`)

	lines = nil
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := Ping(ctx, silent, PingConfig{Target: target, Count: 100, Interval: 50 * time.Millisecond, Timeout: time.Second}, collect(&lines))
	if err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled ping: %v after %v", err, time.Since(start))
	}
	if st.Sent < 2 || st.Sent > 5 || !strings.HasPrefix(lines[len(lines)-1].Text, fmt.Sprintf("%d packets transmitted, 0 received", st.Sent)) {
		t.Errorf("cancelled: %+v\n%s", st, texts(lines))
	}
}

func TestPingRejectsIPv6(t *testing.T) {
	c := newFakeConn(func([]byte, netip.Addr, int) []fakeMsg { return nil })
	if _, err := Ping(context.Background(), c, PingConfig{Target: netip.MustParseAddr("::1")}, collect(new([]Line))); err == nil {
		t.Error("IPv6 target accepted")
	}
}
