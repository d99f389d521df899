package nat

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestReadRules reads the applied table back: every rule of every chain
// with its comment, the rules naming a counter with that counter's values,
// and a packet the WAN drops counted there.
func TestReadRules(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	box := netnstest.NewNS(t, "box")
	peer := netnstest.NewNS(t, "peer")
	netnstest.NewWire(t, box, "wan0", peer, "eth0")
	for _, c := range []struct {
		ns   *netnstest.NS
		args string
	}{
		{box, "addr add 203.0.113.2/24 dev wan0"}, {box, "link set wan0 up"},
		{peer, "addr add 203.0.113.1/24 dev eth0"}, {peer, "link set eth0 up"},
	} {
		if out, err := c.ns.Run("ip", strings.Fields(c.args)...); err != nil {
			t.Fatalf("ip %s: %v\n%s", c.args, err, out)
		}
	}
	p := seedParams()
	p.LAN, p.LANPrefix, p.Forwards = "", netip.Prefix{}, nil
	p.Masquerade = p.VPNPools
	if err := box.Do(func() error { return Apply(context.Background(), p) }); err != nil {
		t.Fatal(err)
	}
	// Three datagrams to a port the WAN does not serve: dropped by "wan drop".
	if err := peer.Do(func() error {
		c, err := net.Dial("udp4", "203.0.113.2:9")
		if err != nil {
			return err
		}
		defer c.Close()
		for range 3 {
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var rules []Rule
	var counters []Counter
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := box.Do(func() (err error) { rules, counters, err = ReadRules(); return err }); err != nil {
			t.Fatal(err)
		}
		if r := find(rules, chainWANIn, "wan drop"); r.Packets >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	drop := find(rules, chainWANIn, "wan drop")
	if drop.Counter != CounterWANDropped || !drop.Counted || drop.Packets < 3 || drop.Bytes < 3*29 {
		t.Errorf("wan drop = %+v, want 3 packets in %s", drop, CounterWANDropped)
	}
	var named Counter
	for _, c := range counters {
		if c.Name == CounterWANDropped {
			named = c
		}
	}
	if named.Packets != drop.Packets || named.Bytes != drop.Bytes {
		t.Errorf("named counter %+v, rule %+v: the rule shows another count", named, drop)
	}
	if r := find(rules, chainInput, "management refused"); r.Counter != CounterMgmtRefused || r.Packets != 0 {
		t.Errorf("management refused = %+v", r)
	}
	if r := find(rules, chainWANIn, "pptp control"); r.Counted || r.Counter != "" {
		t.Errorf("pptp control = %+v: counts in nothing", r)
	}
	chains := map[string]int{}
	for _, r := range rules {
		if r.Comment == "" {
			t.Errorf("rule without a comment: %+v", r)
		}
		chains[r.Chain]++
	}
	if want := len(build(p).rules); len(rules) != want {
		t.Errorf("read %d rules, built %d (%v)", len(rules), want, chains)
	}
	for _, c := range []string{chainInput, chainWANIn, chainForward, chainPrerouting, chainPostrouting} {
		if chains[c] == 0 && c != chainPrerouting {
			t.Errorf("no rule of chain %s read (%v)", c, chains)
		}
	}
}

func find(rules []Rule, chain, comment string) Rule {
	for _, r := range rules {
		if r.Chain == chain && r.Comment == comment {
			return r
		}
	}
	return Rule{Chain: fmt.Sprintf("(no %s/%s)", chain, comment)}
}
