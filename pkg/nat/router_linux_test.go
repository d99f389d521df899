package nat

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestRouterUpdates: WAN changes and reloads compose (a reload keeps the
// WAN address, a WAN change keeps the reloaded rules) and a bad reload
// leaves table and Params alone. Sequential on purpose: every call must
// run on the namespace's thread.
func TestRouterUpdates(t *testing.T) {
	netnstest.Run(t, func() error {
		ctx := context.Background()
		p := seedParams()
		p.WANAddr = netip.Addr{}
		r := NewRouter(p, nil)
		list := func() string {
			out, _ := netnstest.Cmd("nft", "-n", "list", "table", "inet", TableName)
			return out
		}
		r.SetWAN(ctx, netip.MustParseAddr("198.51.100.7"))
		if !strings.Contains(list(), "ip daddr 198.51.100.7 tcp dport 8080") {
			return fmt.Errorf("SetWAN not applied:\n%s", list())
		}
		np := seedParams()
		np.WANAddr = netip.Addr{}
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
		r.SetWAN(ctx, netip.MustParseAddr("198.51.100.8"))
		got = list()
		if !strings.Contains(got, "maxseg size set 1300") || !strings.Contains(got, "ip daddr 198.51.100.8") {
			return fmt.Errorf("WAN change lost the reloaded rules:\n%s", got)
		}
		return nil
	}, "nft")
}
