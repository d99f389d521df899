package netcfg

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestPortsConfigureStatic: a static WAN and a LAN come up with addresses,
// MTU, default route, resolver and the router sysctls; doing it twice is
// harmless.
func TestPortsConfigureStatic(t *testing.T) {
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	netnstest.Run(t, func() error {
		for _, dev := range []string{"wan0", "lan0"} {
			if _, err := netnstest.Cmd("ip", "tuntap", "add", dev, "mode", "tap"); err != nil {
				return err
			}
		}
		p := Ports{
			WAN: WAN{Iface: "wan0", Addr: netip.MustParsePrefix("203.0.113.2/24"), Gateway: netip.MustParseAddr("203.0.113.1"),
				DNS: []netip.Addr{netip.MustParseAddr("203.0.113.53")}, MTU: 1492},
			LAN:        &LAN{Iface: "lan0", Addr: netip.MustParsePrefix("192.168.1.1/24")},
			ResolvConf: resolv,
		}
		for range 2 {
			if err := p.Configure(); err != nil {
				return err
			}
		}
		checks := []struct {
			args []string
			want []string
		}{
			{[]string{"-4", "addr", "show", "wan0"}, []string{"mtu 1492", "inet 203.0.113.2/24"}},
			{[]string{"-4", "addr", "show", "lan0"}, []string{"inet 192.168.1.1/24"}},
			{[]string{"-4", "route", "show", "default"}, []string{"default via 203.0.113.1 dev wan0"}},
		}
		for _, c := range checks {
			out, err := netnstest.Cmd("ip", c.args...)
			if err != nil {
				return err
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					return fmt.Errorf("ip %v lacks %q:\n%s", c.args, w, out)
				}
			}
		}
		want := append(wanSysctls("wan0"), [2]string{"net/ipv4/ip_forward", "1"}, [2]string{"net/ipv4/conf/lan0/rp_filter", "1"})
		for _, s := range want {
			if got, err := Sysctl(s[0]); err != nil || got != s[1] {
				return fmt.Errorf("sysctl %s = %q, %v; want %s", s[0], got, err, s[1])
			}
		}
		if b, err := os.ReadFile(resolv); err != nil || !strings.Contains(string(b), "nameserver 203.0.113.53") {
			return fmt.Errorf("resolv.conf %q, %v", b, err)
		}
		return nil
	}, "ip")
}

func TestPortsValidate(t *testing.T) {
	lan := func() *LAN { return &LAN{Iface: "lan0", Addr: netip.MustParsePrefix("192.168.1.1/24")} }
	tests := []struct {
		name string
		p    Ports
		want string
	}{
		{"ok dhcp", Ports{WAN: WAN{Iface: "wan0", DHCP: true}, LAN: lan()}, ""},
		{"no wan", Ports{WAN: WAN{DHCP: true}}, "wan: no interface"},
		{"static without address", Ports{WAN: WAN{Iface: "wan0"}}, "static mode needs"},
		{"gateway outside", Ports{WAN: WAN{Iface: "wan0", Addr: netip.MustParsePrefix("203.0.113.2/24"),
			Gateway: netip.MustParseAddr("198.51.100.1")}}, "outside"},
		{"overlap", Ports{WAN: WAN{Iface: "wan0", Addr: netip.MustParsePrefix("192.168.0.2/16")}, LAN: lan()}, "overlaps"},
		{"same iface", Ports{WAN: WAN{Iface: "lan0", DHCP: true}, LAN: lan()}, "differ"},
		{"mtu", Ports{WAN: WAN{Iface: "wan0", DHCP: true, MTU: 100}}, "mtu 100"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
}
