// Package dhcp4c is the WAN's DHCPv4 client (RFC 2131 §4.4): it obtains a
// lease, renews it at T1, rebinds at T2, reports it lost at expiry, and asks
// again at once when the link regains its carrier (the cable moved to
// another network). It only talks DHCP: installing a lease on the system
// (address, default route, resolver) is the caller's, through [Client]'s
// Install and OnLost, so the package imports no other part of the box.
// pkg/router runs it on the WAN port; pkg/dhcpd is the LAN's server.
package dhcp4c

import (
	"context"
	"log/slog"
	"time"
)

// Client keeps a DHCP lease on one interface. Its callbacks run on Run's
// goroutine, in this order for each lease: Install, then OnLease when the
// lease is new or moved.
type Client struct {
	Iface    string
	Hostname string // option 12; empty to omit
	Logger   *slog.Logger
	// Install puts l on the system. It is called after every exchange that
	// gave a lease (bind, renewal, rebinding, confirmation after a carrier
	// change), with the lease l replaces (nil at the first bind), which the
	// caller removes when its address differs.
	Install func(old *Lease, l Lease)
	// OnLease is called after Install when the lease is new or its
	// address or router changed (not for a plain renewal).
	OnLease func(Lease)
	// OnLost is called when l expired: the caller removes its address.
	OnLost func(l Lease)
	// Carrier subscribes to the interface's carrier; nil: no watch (a moved
	// cable is then noticed at the next renewal only). See [CarrierWatch].
	Carrier CarrierWatch
	// Timeout is one DHCP exchange's wait for an answer (default 3s).
	Timeout time.Duration
}

// CarrierWatch subscribes to the carrier of the client's interface. Run
// calls it first, on its own goroutine, so a netlink socket it opens lives
// in the caller's network namespace. The returned run then reports every
// change (up: the link is up and has carrier) until ctx ends, when it
// returns nil; an error from it ends Client.Run.
type CarrierWatch func() (run func(ctx context.Context, changed func(up bool)) error, err error)
