package dhcp4c

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Lease is what the DHCP server gave us (RFC 2131 §3.1: the DHCPACK).
type Lease struct {
	Addr   netip.Prefix // our address and the subnet's length
	Router netip.Addr   // default gateway (option 3), zero if none
	DNS    []netip.Addr // option 6
	Server netip.Addr   // server identifier (option 54)
	// Lease, Renew (T1) and Rebind (T2) durations, from options 51, 58, 59
	// with RFC 2131 §4.4.5's defaults of 0.5 and 0.875 of the lease.
	Lease, Renew, Rebind time.Duration
	Bound                time.Time

	// ack is the DHCPACK behind the lease and offer the DHCPOFFER; RENEW
	// builds its request from them.
	ack, offer *dhcpv4.DHCPv4
}

func (l Lease) String() string {
	return fmt.Sprintf("%s via %v dns %v lease %v from %v", l.Addr, l.Router, l.DNS, l.Lease, l.Server)
}

// Expiry is when the lease runs out.
func (l Lease) Expiry() time.Time { return l.Bound.Add(l.Lease) }

// minLease is the shortest lease we honour.
const minLease = 4 * time.Second

// leaseFromACK reads a Lease out of a DHCPACK.
func leaseFromACK(ack *dhcpv4.DHCPv4, now time.Time) (Lease, error) {
	a, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || a.IsUnspecified() {
		return Lease{}, fmt.Errorf("dhcp4c: ack without an address (yiaddr %v)", ack.YourIPAddr)
	}
	bits := 32
	if m := ack.SubnetMask(); m != nil {
		ones, size := net.IPMask(m).Size()
		if size != 32 || ones == 0 {
			return Lease{}, fmt.Errorf("dhcp4c: bad subnet mask %v", net.IP(m))
		}
		bits = ones
	}
	l := Lease{Addr: netip.PrefixFrom(a, bits), Bound: now}
	if rs := ack.Router(); len(rs) > 0 {
		if r, ok := netip.AddrFromSlice(rs[0].To4()); ok {
			l.Router = r
		}
	}
	for _, d := range ack.DNS() {
		if da, ok := netip.AddrFromSlice(d.To4()); ok {
			l.DNS = append(l.DNS, da)
		}
	}
	if s, ok := netip.AddrFromSlice(ack.ServerIdentifier().To4()); ok {
		l.Server = s
	}
	// Without option 51 the lease is one hour; servers must send it in an
	// ACK to a REQUEST (RFC 2131 §4.3.1 table 3), so this is a fallback.
	l.Lease = ack.IPAddressLeaseTime(time.Hour)
	// A lease of zero or a second would have us renewing in a busy loop.
	if l.Lease < minLease {
		l.Lease = minLease
	}
	l.Renew = ack.IPAddressRenewalTime(l.Lease / 2)
	l.Rebind = ack.IPAddressRebindingTime(l.Lease * 7 / 8)
	if l.Renew <= 0 || l.Renew > l.Lease {
		l.Renew = l.Lease / 2
	}
	if l.Rebind < l.Renew || l.Rebind > l.Lease {
		l.Rebind = max(l.Lease*7/8, l.Renew)
	}
	return l, nil
}
