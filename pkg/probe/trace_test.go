package probe

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// path is a fake network: hops[i] answers TTL i+1 with Time Exceeded (the
// zero Addr: silent), the target answers past them.
func path(hops ...netip.Addr) func(req []byte, dst netip.Addr, ttl int) []fakeMsg {
	return func(req []byte, dst netip.Addr, ttl int) []fakeMsg {
		if ttl <= len(hops) {
			if !hops[ttl-1].IsValid() {
				return nil
			}
			return []fakeMsg{{data: icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, dst, req), src: hops[ttl-1], delay: time.Millisecond}}
		}
		return []fakeMsg{{data: echoReply(req), src: dst, delay: 2 * time.Millisecond}}
	}
}

func TestTraceroute(t *testing.T) {
	var lines []Line
	hops, err := Traceroute(context.Background(), newFakeConn(path(router, netip.Addr{}, netip.MustParseAddr("10.0.3.1"))),
		TraceConfig{Target: target, Name: "b.example", Timeout: 50 * time.Millisecond, ID: 9}, collect(&lines))
	if err != nil {
		t.Fatal(err)
	}
	r3 := `  ` + rtt + ` ms  ` + rtt + ` ms  ` + rtt + ` ms`
	matchLines(t, lines,
		`traceroute to b\.example \(10\.0\.2\.2\), 30 hops max, 60 byte packets`,
		` 1  10\.0\.1\.1`+r3,
		` 2  \* \* \*`,
		` 3  10\.0\.3\.1`+r3,
		` 4  10\.0\.2\.2`+r3,
	)
	if len(hops) != 4 || hops[3].Answers[0].Kind != EchoReply || hops[0].Answers[2].Kind != TimeExceeded {
		t.Errorf("hops %+v", hops)
	}
}

// TestTracerouteMaxHopsAndUnreachable: a path longer than MaxHops ends
// there; an unreachable ends the trace at its hop, marked.
func TestTracerouteMaxHopsAndUnreachable(t *testing.T) {
	var lines []Line
	if _, err := Traceroute(context.Background(), newFakeConn(path(router, router, router, router)),
		TraceConfig{Target: target, MaxHops: 2, Probes: 1, Timeout: 50 * time.Millisecond}, collect(&lines)); err != nil {
		t.Fatal(err)
	}
	matchLines(t, lines, `traceroute to 10\.0\.2\.2 \(10\.0\.2\.2\), 2 hops max, 60 byte packets`,
		` 1  10\.0\.1\.1  `+rtt+` ms`, ` 2  10\.0\.1\.1  `+rtt+` ms`)

	lines = nil
	unreach := func(req []byte, dst netip.Addr, ttl int) []fakeMsg {
		if ttl == 1 {
			return path(router)(req, dst, ttl)
		}
		return []fakeMsg{{data: icmpError(ipv4.ICMPTypeDestinationUnreachable, 1, me, dst, req), src: netip.MustParseAddr("10.0.3.1")}}
	}
	if _, err := Traceroute(context.Background(), newFakeConn(unreach), TraceConfig{Target: target, Probes: 2, Timeout: 50 * time.Millisecond}, collect(&lines)); err != nil {
		t.Fatal(err)
	}
	matchLines(t, lines, `traceroute to .*`, ` 1  10\.0\.1\.1  `+rtt+` ms  `+rtt+` ms`,
		` 2  10\.0\.3\.1  `+rtt+` ms !H  `+rtt+` ms !H`)
}

// TestTracerouteLateAnswer: an answer to an earlier hop's probe arriving
// during the next hop is not taken for the next hop's.
func TestTracerouteLateAnswer(t *testing.T) {
	far := netip.MustParseAddr("10.0.9.9")
	c := newFakeConn(func(req []byte, dst netip.Addr, ttl int) []fakeMsg {
		if ttl == 1 {
			// Arrives after hop 1's timeout, while hop 2 waits.
			return []fakeMsg{{data: icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, dst, req), src: far, delay: 70 * time.Millisecond}}
		}
		return []fakeMsg{{data: echoReply(req), src: dst, delay: 40 * time.Millisecond}}
	})
	var lines []Line
	if _, err := Traceroute(context.Background(), c, TraceConfig{Target: target, Probes: 1, Timeout: 60 * time.Millisecond}, collect(&lines)); err != nil {
		t.Fatal(err)
	}
	matchLines(t, lines, `traceroute to .*`, ` 1  \*`, ` 2  10\.0\.2\.2  `+rtt+` ms`)
}

func TestTracerouteCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Traceroute(ctx, newFakeConn(func([]byte, netip.Addr, int) []fakeMsg { return nil }),
		TraceConfig{Target: target, Timeout: time.Second}, collect(new([]Line)))
	if err == nil || time.Since(start) > time.Second {
		t.Errorf("cancelled trace: %v after %v", err, time.Since(start))
	}
}
