package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

func TestLinkAddrRoute(t *testing.T) {
	netnstest.Run(t, func() error {
		if _, err := netnstest.Cmd("ip", "tuntap", "add", "tun9", "mode", "tun"); err != nil {
			return err
		}
		if err := LinkUp("tun9"); err != nil {
			return err
		}
		if err := SetMTU("tun9", 1400); err != nil {
			return err
		}
		if mtu, err := LinkMTU("tun9"); err != nil || mtu != 1400 {
			return fmt.Errorf("LinkMTU = %d, %v; want 1400", mtu, err)
		}
		local := netip.MustParsePrefix("10.79.97.1/32")
		peer := netip.MustParseAddr("10.79.97.10")
		lan := netip.MustParsePrefix("192.168.1.1/24")
		for range 2 { // the second round proves idempotence
			if err := AddAddr("tun9", local, peer); err != nil {
				return err
			}
			if err := AddAddr("tun9", lan, netip.Addr{}); err != nil {
				return err
			}
			if err := AddRoute(netip.MustParsePrefix("10.79.97.0/24"), "tun9"); err != nil {
				return err
			}
			if err := AddRouteVia(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("192.168.1.254"), "tun9"); err != nil {
				return err
			}
		}
		got, err := Addrs("tun9")
		if err != nil {
			return err
		}
		if !slices.Contains(got, local) || !slices.Contains(got, lan) || len(got) != 2 {
			return fmt.Errorf("Addrs = %v, want %v and %v", got, local, lan)
		}
		out, err := netnstest.Cmd("ip", "-4", "addr", "show", "dev", "tun9")
		if err != nil {
			return err
		}
		for _, want := range []string{"mtu 1400", "inet 10.79.97.1 peer 10.79.97.10/32", "inet 192.168.1.1/24 brd 192.168.1.255", "UP"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("ip addr lacks %q:\n%s", want, out)
			}
		}
		out, err = netnstest.Cmd("ip", "-4", "route", "show")
		if err != nil {
			return err
		}
		for _, want := range []string{"default via 192.168.1.254 dev tun9 proto static", "10.79.97.0/24 dev tun9 proto static scope link"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("ip route lacks %q:\n%s", want, out)
			}
		}
		routes, err := Routes()
		if err != nil {
			return err
		}
		idx, err := LinkIndex("tun9")
		if err != nil {
			return err
		}
		wantDefault := Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.254"), Dev: idx, Protocol: 4}
		if !slices.Contains(routes, wantDefault) {
			return fmt.Errorf("Routes = %+v, lacks %+v", routes, wantDefault)
		}
		for range 2 {
			if err := DelRoute(netip.MustParsePrefix("10.79.97.0/24"), "tun9"); err != nil {
				return err
			}
			if err := DelAddr("tun9", lan); err != nil {
				return err
			}
		}
		out, _ = netnstest.Cmd("ip", "-4", "route", "show")
		if strings.Contains(out, "10.79.97.0/24") {
			return fmt.Errorf("route still there after DelRoute:\n%s", out)
		}
		if got, _ := Addrs("tun9"); slices.Contains(got, lan) {
			return fmt.Errorf("address still there after DelAddr: %v", got)
		}
		return nil
	}, "ip")
}

func TestProxyARP(t *testing.T) {
	netnstest.Run(t, func() error {
		if _, err := netnstest.Cmd("ip", "tuntap", "add", "lan0", "mode", "tap"); err != nil {
			return err
		}
		a := netip.MustParseAddr("192.168.1.77")
		for range 2 {
			if err := AddProxyARP(a, "lan0"); err != nil {
				return err
			}
		}
		out, err := netnstest.Cmd("ip", "neigh", "show", "proxy")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "192.168.1.77 dev lan0") {
			return fmt.Errorf("ip neigh show proxy lacks entry:\n%s", out)
		}
		for range 2 {
			if err := DelProxyARP(a, "lan0"); err != nil {
				return err
			}
		}
		if out, _ := netnstest.Cmd("ip", "neigh", "show", "proxy"); strings.Contains(out, "192.168.1.77") {
			return fmt.Errorf("proxy entry still there:\n%s", out)
		}
		return nil
	}, "ip")
}

func TestSysctlAndErrors(t *testing.T) {
	netnstest.Run(t, func() error {
		for _, v := range []string{"1", "0", "1"} {
			if err := SetSysctl("net/ipv4/ip_forward", v); err != nil {
				return err
			}
			got, err := Sysctl("net.ipv4.ip_forward")
			if err != nil || got != v {
				return fmt.Errorf("ip_forward = %q, %v; want %q", got, err, v)
			}
		}
		if err := LinkUp("nosuch0"); !errors.Is(err, ErrNoSuchLink) || !strings.Contains(err.Error(), `"nosuch0"`) {
			return fmt.Errorf("LinkUp(nosuch0) = %v, want ErrNoSuchLink naming it", err)
		}
		if err := SetMTU("lo", 20); err == nil {
			return errors.New("SetMTU(20) succeeded")
		}
		return nil
	}, "ip")
}

func TestSysctlFile(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"net/ipv4/ip_forward", "/proc/sys/net/ipv4/ip_forward", true},
		{"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward", true},
		{"net/ipv4/conf/eth0.100/rp_filter", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter", true},
		{"net/../../etc/passwd", "", false},
		{"/net/ipv4", "", false},
		{"", "", false},
		{"net//ipv4", "", false},
	}
	for _, tt := range tests {
		got, err := sysctlFile(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("sysctlFile(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestBroadcast(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.168.1.1/24", "192.168.1.255"},
		{"10.0.0.5/8", "10.255.255.255"},
		{"203.0.113.9/30", "203.0.113.11"},
		{"198.51.100.1/32", "198.51.100.1"},
	}
	for _, tt := range tests {
		if got := broadcast(netip.MustParsePrefix(tt.in)); got.String() != tt.want {
			t.Errorf("broadcast(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
