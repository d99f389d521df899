package router

import "github.com/pptpbox/pptpbox/pkg/dhcpd"

// Leases returns the LAN DHCP server's leases (offers left out), for the
// operator's "show leases"; false when it does not run (yet).
func (r *Router) Leases() ([]dhcpd.Lease, bool) {
	if s := r.dhcp.Load(); s != nil {
		return s.Leases(), true
	}
	return nil, false
}
