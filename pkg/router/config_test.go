package router

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// TestConfigValidate: the ports are checked as netcfg does, and the LAN
// DHCP server with its interface and addresses taken from the LAN port.
func TestConfigValidate(t *testing.T) {
	lan := &netcfg.LAN{Iface: "lan0", Addr: netip.MustParsePrefix("192.168.1.1/24")}
	server := func(first, last string) *dhcpd.Config {
		return &dhcpd.Config{RangeStart: netip.MustParseAddr(first), RangeEnd: netip.MustParseAddr(last), LeaseTime: time.Hour}
	}
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"ok", Config{Ports: netcfg.Ports{WAN: netcfg.WAN{Iface: "wan0", DHCP: true}, LAN: lan},
			DHCPServer: server("192.168.1.100", "192.168.1.199")}, ""},
		{"ports", Config{Ports: netcfg.Ports{WAN: netcfg.WAN{DHCP: true}}}, "wan: no interface"},
		{"server without lan", Config{Ports: netcfg.Ports{WAN: netcfg.WAN{Iface: "wan0", DHCP: true}},
			DHCPServer: server("192.168.1.100", "192.168.1.199")}, "needs a LAN port"},
		{"range outside the lan", Config{Ports: netcfg.Ports{WAN: netcfg.WAN{Iface: "wan0", DHCP: true}, LAN: lan},
			DHCPServer: server("10.0.0.100", "10.0.0.199")}, "not inside 192.168.1.0/24"},
		{"range holds the box", Config{Ports: netcfg.Ports{WAN: netcfg.WAN{Iface: "wan0", DHCP: true}, LAN: lan},
			DHCPServer: server("192.168.1.1", "192.168.1.9")}, "server address 192.168.1.1 is inside the range"},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
	c := tests[0].c
	if d := c.dhcpServer(); d.Iface != "lan0" || d.ServerAddr != lan.Addr.Addr() || d.Router != lan.Addr.Addr() || d.Prefix != lan.Addr.Masked() {
		t.Errorf("dhcpServer defaults: %+v", d)
	}
}
