package nat

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the kernel's listing")

// seedParams is the seed tutorial's box: pool 10.79.97.0/24 on pptp0, LAN
// 192.168.1.0/24, MSS 1356, one port forward.
func seedParams() Params {
	return Params{
		WAN:        "wan0",
		WANAddr:    netip.MustParseAddr("203.0.113.2"),
		LAN:        "lan0",
		LANPrefix:  netip.MustParsePrefix("192.168.1.0/24"),
		VPN:        "pptp0",
		VPNPools:   []netip.Prefix{netip.MustParsePrefix("10.79.97.0/24")},
		Masquerade: []netip.Prefix{netip.MustParsePrefix("10.79.97.0/24"), netip.MustParsePrefix("192.168.1.0/24")},
		ClampMSS:   1356,
		VPNToLAN:   true,
		PPTPPort:   1723,
		// [nat] pptp_passthrough's default.
		PPTPPassthrough: true,
		ICMPRate:        10,
		MgmtTCPPorts:    []uint16{22},
		Forwards: []PortForward{
			{Proto: TCP, Port: 8080, To: netip.MustParseAddrPort("192.168.1.10:80")},
			{Proto: UDP, Port: 5060, To: netip.MustParseAddrPort("192.168.1.20:5060")},
		},
	}
}

// goldenCases are applied in a fresh namespace and listed with nft -n; the
// text must match testdata/<name>.golden (go test -run Golden -update).
var goldenCases = []struct {
	name string
	p    func() Params
}{
	{"seed", seedParams},
	{"pmtu-wildcard-novpnlan", func() Params {
		p := seedParams()
		p.ClampMSS, p.ClampPMTU = 0, true
		p.VPN = "ppp*"
		p.VPNToLAN = false
		p.PPTPPassthrough = false
		p.MgmtFromVPN = true
		p.WANAddr = netip.Addr{}
		p.Forwards = nil
		return p
	}},
	{"wan-only", func() Params {
		return Params{WAN: "eth0", PPTPPort: 1723}
	}},
	{"dae", func() Params {
		p := seedParams()
		p.DAEPort = 3799
		p.DAESources = []netip.Addr{netip.MustParseAddr("198.51.100.5"), netip.MustParseAddr("198.51.100.6")}
		return p
	}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			netnstest.Run(t, func() error {
				if err := Apply(context.Background(), tc.p()); err != nil {
					return err
				}
				got, err := netnstest.Cmd("nft", "-n", "list", "ruleset")
				if err != nil {
					return err
				}
				file := filepath.Join("testdata", tc.name+".golden")
				if *update {
					return os.WriteFile(file, []byte(got), 0o644)
				}
				want, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				if got != string(want) {
					return fmt.Errorf("nft -n list ruleset differs from %s (-update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
				}
				return nil
			}, "nft")
		})
	}
}

// TestApplyKeepsOthers: re-applying replaces only our table, a foreign
// table survives Apply and Remove, and a bad Params leaves the previous
// table exactly as it was.
func TestApplyKeepsOthers(t *testing.T) {
	netnstest.Run(t, func() error {
		if _, err := netnstest.Cmd("nft", "add table ip other; add chain ip other c; add rule ip other c counter accept"); err != nil {
			return err
		}
		other, err := netnstest.Cmd("nft", "-n", "list", "table", "ip", "other")
		if err != nil {
			return err
		}
		first := seedParams()
		if err := Apply(context.Background(), first); err != nil {
			return err
		}
		second := seedParams()
		second.WANAddr = netip.MustParseAddr("198.51.100.7")
		if err := Apply(context.Background(), second); err != nil {
			return err
		}
		good, err := netnstest.Cmd("nft", "-n", "list", "table", "inet", TableName)
		if err != nil {
			return err
		}
		if strings.Contains(good, "203.0.113.2") || !strings.Contains(good, "ip daddr 198.51.100.7") {
			return fmt.Errorf("second Apply did not replace the WAN address:\n%s", good)
		}
		bad := seedParams()
		bad.LAN = bad.WAN
		if err := Apply(context.Background(), bad); err == nil {
			return fmt.Errorf("Apply with LAN == WAN succeeded")
		}
		after, _ := netnstest.Cmd("nft", "-n", "list", "table", "inet", TableName)
		if after != good {
			return fmt.Errorf("failed Apply changed the table:\n%s", after)
		}
		cs, err := ReadCounters()
		if err != nil {
			return err
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		if want := []string{CounterForwardDropped, CounterMgmtRefused, CounterMSSClamped, CounterWANDropped}; !slices.Equal(names, want) {
			return fmt.Errorf("counters %v, want %v", names, want)
		}
		for range 2 {
			if err := Remove(); err != nil {
				return err
			}
		}
		all, _ := netnstest.Cmd("nft", "-n", "list", "ruleset")
		if strings.Contains(all, TableName) {
			return fmt.Errorf("table left after Remove:\n%s", all)
		}
		if o, _ := netnstest.Cmd("nft", "-n", "list", "table", "ip", "other"); o != other {
			return fmt.Errorf("foreign table changed:\n%s\nwas:\n%s", o, other)
		}
		return nil
	}, "nft")
}
