package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
)

// WAN is the uplink port.
type WAN struct {
	Iface string
	DHCP  bool // true: DHCP client; false: the static fields below
	// Static configuration.
	Addr    netip.Prefix // e.g. 203.0.113.2/24
	Gateway netip.Addr   // default route; zero for none
	DNS     []netip.Addr
	// Common.
	MTU      int    // 0 keeps the interface's MTU
	Hostname string // DHCP option 12
}

// LAN is the office port.
type LAN struct {
	Iface string
	Addr  netip.Prefix // the box's address and the LAN subnet, 192.168.1.1/24
	MTU   int          // 0 keeps the interface's MTU
}

// Ports is the box's port configuration, plain data; Configure programs
// it. The services on the ports (the WAN DHCP client, the LAN DHCP server)
// are pkg/router's.
type Ports struct {
	WAN WAN
	LAN *LAN // nil: no LAN port
	// ResolvConf is where the WAN's DNS servers are written (the box's own
	// resolver); empty to leave the file alone.
	ResolvConf string
}

// Validate checks the port configuration without touching the system.
func (p *Ports) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("netcfg: "+f, a...)) }
	if p.WAN.Iface == "" {
		bad("wan: no interface")
	}
	if !p.WAN.DHCP {
		if !p.WAN.Addr.IsValid() || !p.WAN.Addr.Addr().Is4() {
			bad("wan: static mode needs an IPv4 address, got %v", p.WAN.Addr)
		} else if p.WAN.Gateway.IsValid() && !p.WAN.Addr.Masked().Contains(p.WAN.Gateway) {
			bad("wan: gateway %v is outside %v", p.WAN.Gateway, p.WAN.Addr)
		}
	}
	if p.LAN != nil {
		if p.LAN.Iface == "" || p.LAN.Iface == p.WAN.Iface {
			bad("lan: interface %q must be set and differ from the wan's", p.LAN.Iface)
		}
		if !p.LAN.Addr.IsValid() || !p.LAN.Addr.Addr().Is4() {
			bad("lan: need an IPv4 address, got %v", p.LAN.Addr)
		} else if !p.WAN.DHCP && p.WAN.Addr.IsValid() && p.WAN.Addr.Masked().Overlaps(p.LAN.Addr.Masked()) {
			bad("lan: %v overlaps the wan %v", p.LAN.Addr, p.WAN.Addr)
		}
	}
	for _, m := range []int{p.WAN.MTU, lanMTU(p.LAN)} {
		if m != 0 && (m < 576 || m > 9000) {
			bad("mtu %d out of range 576-9000", m)
		}
	}
	return errors.Join(errs...)
}

func lanMTU(l *LAN) int {
	if l == nil {
		return 0
	}
	return l.MTU
}
