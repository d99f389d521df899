package router

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// testParams is a LAN behind a WAN with MSS clamping and one port forward,
// the WAN address unknown.
func testParams() nat.Params {
	return nat.Params{WAN: "wan0", LAN: "lan0", LANPrefix: netip.MustParsePrefix("192.168.1.0/24"),
		ClampMSS: 1356, PPTPPort: 1723,
		Forwards: []nat.PortForward{{Proto: nat.TCP, Port: 8080, To: netip.MustParseAddrPort("192.168.1.10:80")}}}
}

// TestRouterUpdates: WAN changes and reloads compose (a reload keeps the
// WAN address, a WAN change keeps the reloaded rules) and a bad reload
// leaves table and Params alone. Sequential on purpose: every call must
// run on the namespace's thread.
func TestRouterUpdates(t *testing.T) {
	netnstest.Run(t, func() error {
		ctx := context.Background()
		r := New(Config{NAT: testParams()})
		list := func() string {
			out, _ := netnstest.Cmd("nft", "-n", "list", "table", "inet", nat.TableName)
			return out
		}
		r.setWAN(ctx, netip.MustParseAddr("198.51.100.7"))
		if !strings.Contains(list(), "ip daddr 198.51.100.7 tcp dport 8080") {
			return fmt.Errorf("setWAN not applied:\n%s", list())
		}
		np := testParams()
		np.ClampMSS = 1300
		if err := r.Reload(ctx, np); err != nil {
			return err
		}
		got := list()
		if !strings.Contains(got, "maxseg size set 1300") || !strings.Contains(got, "198.51.100.7") {
			return fmt.Errorf("reload lost the WAN address or the new MSS:\n%s", got)
		}
		bad := np
		bad.ClampMSS = 20
		if err := r.Reload(ctx, bad); err == nil || !strings.Contains(err.Error(), "previous rules kept") {
			return fmt.Errorf("bad reload: %v", err)
		}
		if list() != got || r.Params().ClampMSS != 1300 {
			return fmt.Errorf("bad reload changed the table or Params (%d)", r.Params().ClampMSS)
		}
		r.setWAN(ctx, netip.MustParseAddr("198.51.100.8"))
		got = list()
		if !strings.Contains(got, "maxseg size set 1300") || !strings.Contains(got, "ip daddr 198.51.100.8") {
			return fmt.Errorf("WAN change lost the reloaded rules:\n%s", got)
		}
		return nil
	}, "nft")
}
