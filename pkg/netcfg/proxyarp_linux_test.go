package netcfg

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestProxyARPAnswers: a pool address routed to a TUN but inside the LAN
// subnet is answered on the LAN with the box's MAC once AddProxyARP is in
// place, and not before (the seed's pppd "proxyarp").
func TestProxyARPAnswers(t *testing.T) {
	netnstest.Require(t, "ip")
	box, host := netnstest.NewNS(t, "box"), netnstest.NewNS(t, "host")
	netnstest.NewWire(t, box, "lan0", host, "eth0")
	pool := netip.MustParseAddr("192.168.1.200")
	var mac string
	if err := box.Do(func() error {
		if _, err := netnstest.Cmd("ip", "tuntap", "add", "pool0", "mode", "tun"); err != nil {
			return err
		}
		for _, dev := range []string{"lan0", "pool0"} {
			if err := LinkUp(dev); err != nil {
				return err
			}
		}
		if err := AddAddr("lan0", netip.MustParsePrefix("192.168.1.1/24"), netip.Addr{}); err != nil {
			return err
		}
		if err := AddRoute(netip.PrefixFrom(pool, 32), "pool0"); err != nil {
			return err
		}
		if err := SetSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
		ifc, err := net.InterfaceByName("lan0")
		mac = ifc.HardwareAddr.String()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"addr", "add", "192.168.1.50/24", "dev", "eth0"}, {"link", "set", "eth0", "up"}} {
		if _, err := host.Run("ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	// resolve sends a datagram to the pool address (which makes the host
	// ARP for it) and reports the host's neighbour entry.
	resolve := func() string {
		host.Do(func() error {
			c, err := net.Dial("udp4", pool.String()+":9")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("x"))
			return err
		})
		time.Sleep(300 * time.Millisecond)
		out, _ := host.Run("ip", "neigh", "show", pool.String(), "dev", "eth0")
		return out
	}
	if out := resolve(); strings.Contains(out, mac) {
		t.Fatalf("answered without a proxy entry: %s", out)
	}
	if err := box.Do(func() error { return AddProxyARP(pool, "lan0") }); err != nil {
		t.Fatal(err)
	}
	host.Run("ip", "neigh", "flush", "dev", "eth0")
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := resolve()
		if strings.Contains(out, "lladdr "+mac) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host neighbour for %s = %q, want lladdr %s", pool, out, mac)
		}
	}
}
