package router

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// TestLeases: none before the LAN DHCP server runs, then its leases.
func TestLeases(t *testing.T) {
	lan := &netcfg.LAN{Iface: "lan0", Addr: netip.MustParsePrefix("192.168.1.1/24")}
	file := filepath.Join(t.TempDir(), "leases.json")
	exp := time.Now().Add(time.Hour).UTC().Round(time.Second)
	if err := os.WriteFile(file, []byte(`{"version":1,"leases":[{"mac":"02:00:00:00:00:01","addr":"192.168.1.100","hostname":"pc","expiry":"`+exp.Format(time.RFC3339)+`"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(Config{Ports: netcfg.Ports{WAN: netcfg.WAN{Iface: "wan0", DHCP: true}, LAN: lan},
		DHCPServer: &dhcpd.Config{RangeStart: netip.MustParseAddr("192.168.1.100"), RangeEnd: netip.MustParseAddr("192.168.1.199"),
			LeaseTime: time.Hour, LeaseFile: file}})
	if ls, ok := r.Leases(); ok || ls != nil {
		t.Fatalf("Leases before the server runs = %v, %v", ls, ok)
	}
	srv, err := dhcpd.New(r.cfg.dhcpServer())
	if err != nil {
		t.Fatal(err)
	}
	r.dhcp.Store(srv) // as runPorts does
	ls, ok := r.Leases()
	if !ok || len(ls) != 1 || ls[0].Addr != netip.MustParseAddr("192.168.1.100") || ls[0].Hostname != "pc" || !ls[0].Expiry.Equal(exp) {
		t.Errorf("Leases = %+v, %v", ls, ok)
	}
}
