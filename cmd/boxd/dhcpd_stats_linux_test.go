package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestDHCPDeclineIgnoredInStats: a DHCPDECLINE from a LAN host that holds no lease on the
// address it names is ignored by the box's DHCP server, logged with its reason, and counted
// in `boxctl show stats` (dhcpd counter declines_ignored).
func TestDHCPDeclineIgnoredInStats(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	bin := buildBinaries(t)
	box := netnstest.NewNS(t, "box")
	up := netnstest.NewNS(t, "up")
	lan := netnstest.NewNS(t, "lanh")
	netnstest.NewWire(t, box, "wan0", up, "eth0")
	netnstest.NewWire(t, box, "lan0", lan, "eth0")
	for _, c := range [][]string{{"addr", "add", "192.168.1.50/24", "dev", "eth0"}, {"link", "set", "eth0", "up"}} {
		if out, err := lan.Run("ip", c...); err != nil {
			t.Fatalf("ip %v: %v %s", c, err, out)
		}
	}
	cfg, dir := writeConfig(t, "")
	os.WriteFile(cfg, []byte(`
[wan]
interface = "wan0"
mode = "static"
address = "192.0.2.1/24"
[lan]
interface = "lan0"
address = "192.168.1.1/24"
[lan.dhcp]
lease_file = "`+filepath.Join(dir, "leases.json")+`"
`), 0o644)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, box, bin, cfg, sock, "dhcpd: serving")

	decline, err := dhcpv4.New(dhcpv4.WithHwAddr(net.HardwareAddr{2, 0, 0, 0, 0, 0x50}),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 168, 1, 100))),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 168, 1, 1))))
	if err != nil {
		t.Fatal(err)
	}
	if err := lan.Do(func() error {
		c, err := net.DialUDP("udp4", &net.UDPAddr{Port: 68}, &net.UDPAddr{IP: net.IPv4(192, 168, 1, 1), Port: 67})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(decline.ToBytes())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	boxd.log.waitFor(t, `msg="dhcpd: decline ignored"`, 10*time.Second)
	out, err := box.Run(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "stats", "--json")
	if err != nil {
		t.Fatalf("boxctl show stats: %v\n%s", err, out)
	}
	var st control.StatsReply
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.DHCPD == nil {
		t.Fatalf("boxctl show stats without the dhcpd counters (%v):\n%s", err, out)
	}
	got := map[string]uint64{}
	for _, c := range st.DHCPD.Counters {
		got[c.Name] = c.Value
	}
	if v, ok := got["declines_ignored"]; !ok || v != 1 || got["lease_writes"] != 0 {
		t.Fatalf("dhcpd counters %v, want declines_ignored 1, lease_writes 0:\n%s", got, out)
	}
}
