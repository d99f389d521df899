package netcfg

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
)

// DHCPClient keeps a DHCP lease on the WAN interface (RFC 2131 §4.4): it
// binds, installs the address, default route and resolver, renews at T1,
// starts over at T2, drops the address at expiry, and asks again right
// away when the link comes back after a carrier loss (§3.7, cable moved to
// another network).
type DHCPClient struct {
	Iface      string
	Hostname   string // option 12; empty to omit
	ResolvConf string // file to write the DNS servers to; empty to skip
	Logger     *slog.Logger
	// OnLease is called after a lease is installed, and again whenever a
	// renewal changes it; OnLost when the address is removed. Both run on
	// the client's goroutine.
	OnLease func(WANLease)
	OnLost  func()
	// Timeout is one DHCP exchange's wait for an answer (default 3s).
	Timeout time.Duration
}

// Run keeps the lease until ctx ends. It returns nil then, or an error when
// the interface cannot be watched. Sockets are opened on the calling
// goroutine, so a caller locked into a network namespace keeps them there.
func (c *DHCPClient) Run(ctx context.Context) error {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("dhcp", c.Iface)
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// carrier gets true when the link regains its carrier after a loss.
	carrier := make(chan bool, 16)
	// Subscribe here, not in the goroutine: the socket must be made on
	// the caller's thread, whose network namespace is the interface's.
	w, err := NewLinkWatcher()
	if err != nil {
		return err
	}
	werr := make(chan error, 1)
	go func() {
		werr <- w.Run(ctx, func(ev LinkEvent) {
			if ev.Name == c.Iface {
				select {
				case carrier <- ev.Up && ev.Carrier:
				default:
				}
			}
		})
	}()

	var cur *WANLease
	backoff := time.Second
	for ctx.Err() == nil {
		if cur == nil || time.Now().After(cur.Expiry()) {
			if cur != nil {
				log.Warn("dhcp: lease expired", "addr", cur.Addr)
				c.drop(log, *cur)
				cur = nil
			}
			l, err := c.exchange(ctx, nil, netip.Addr{})
			if err != nil {
				log.Info("dhcp: no lease yet", "err", err, "retry", backoff)
				if !sleep(ctx, backoff, carrier) {
					break
				}
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			backoff = time.Second
			cur = c.install(log, nil, l)
			continue
		}
		// Bound: wait for T1, a carrier change, or the end.
		t1 := time.Until(cur.Bound.Add(cur.Renew))
		timer := time.NewTimer(max(t1, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
		case err := <-werr:
			timer.Stop()
			return err
		case up := <-carrier:
			timer.Stop()
			if !up {
				continue
			}
			// INIT-REBOOT (RFC 2131 §3.2): ask for our address again.
			log.Info("dhcp: carrier back, confirming lease", "addr", cur.Addr)
			l, err := c.exchange(ctx, nil, cur.Addr.Addr())
			if err != nil {
				log.Warn("dhcp: no answer after carrier change", "err", err)
				continue
			}
			cur = c.install(log, cur, l)
		case <-timer.C:
			cur = c.renew(ctx, log, cur)
		}
	}
	return nil
}

// renew runs RENEWING until T2 and then REBINDING (a fresh exchange) until
// the lease expires; it returns the lease to keep (possibly changed).
func (c *DHCPClient) renew(ctx context.Context, log *slog.Logger, cur *WANLease) *WANLease {
	for ctx.Err() == nil && time.Now().Before(cur.Expiry()) {
		rebinding := time.Now().After(cur.Bound.Add(cur.Rebind))
		var l WANLease
		var err error
		if rebinding {
			l, err = c.exchange(ctx, nil, cur.Addr.Addr())
		} else {
			l, err = c.exchange(ctx, cur, netip.Addr{})
		}
		if err == nil {
			return c.install(log, cur, l)
		}
		log.Info("dhcp: renew failed", "rebinding", rebinding, "err", err)
		// RFC 2131 §4.4.5: wait half the time left to T2 (or expiry),
		// at least a minute in real life; we use 2s so tests stay short.
		until := cur.Bound.Add(cur.Rebind)
		if rebinding {
			until = cur.Expiry()
		}
		wait := max(time.Until(until)/2, 2*time.Second)
		if !sleep(ctx, wait, nil) {
			break
		}
	}
	return cur // expired, or ctx ended; the main loop deals with it
}

// exchange runs DISCOVER/OFFER/REQUEST/ACK (asking for want when valid),
// or a unicast-style RENEW of cur.
func (c *DHCPClient) exchange(ctx context.Context, cur *WANLease, want netip.Addr) (WANLease, error) {
	cl, err := nclient4.New(c.Iface, nclient4.WithTimeout(c.Timeout), nclient4.WithRetry(2))
	if err != nil {
		return WANLease{}, fmt.Errorf("netcfg: dhcp on %s: %w", c.Iface, err)
	}
	defer cl.Close()
	var mods []dhcpv4.Modifier
	if c.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(c.Hostname)))
	}
	var lease *nclient4.Lease
	if cur != nil && cur.ack != nil {
		lease, err = cl.Renew(ctx, &nclient4.Lease{Offer: cur.offer, ACK: cur.ack}, mods...)
	} else {
		// The address we want goes into the DISCOVER only, as a hint
		// (RFC 2131 §4.4.1); the REQUEST then names whatever was offered,
		// so a server on a new network answers with its own address.
		dmods := mods
		if want.IsValid() {
			dmods = append(dmods[:len(dmods):len(dmods)], dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP(want.AsSlice()))))
		}
		var offer *dhcpv4.DHCPv4
		offer, err = cl.DiscoverOffer(ctx, dmods...)
		if err == nil {
			lease, err = cl.RequestFromOffer(ctx, offer, mods...)
		}
	}
	if err != nil {
		return WANLease{}, fmt.Errorf("netcfg: dhcp on %s: %w", c.Iface, err)
	}
	l, err := leaseFromACK(lease.ACK, time.Now())
	if err != nil {
		return WANLease{}, err
	}
	l.ack, l.offer = lease.ACK, lease.Offer
	return l, nil
}

// install puts l on the interface, replacing old when the address moved.
func (c *DHCPClient) install(log *slog.Logger, old *WANLease, l WANLease) *WANLease {
	changed := old == nil || old.Addr != l.Addr || old.Router != l.Router
	if old != nil && old.Addr != l.Addr {
		if err := DelAddr(c.Iface, old.Addr); err != nil {
			log.Warn("dhcp: remove old address", "err", err)
		}
	}
	if err := AddAddr(c.Iface, l.Addr, netip.Addr{}); err != nil {
		log.Error("dhcp: install address", "err", err)
	}
	if l.Router.IsValid() {
		if err := AddRouteVia(netip.PrefixFrom(netip.IPv4Unspecified(), 0), l.Router, c.Iface); err != nil {
			log.Error("dhcp: install default route", "err", err)
		}
	}
	if c.ResolvConf != "" && len(l.DNS) > 0 {
		if err := WriteResolvConf(c.ResolvConf, l.DNS); err != nil {
			log.Error("dhcp: resolver", "err", err)
		}
	}
	if changed {
		log.Info("dhcp: bound", "lease", l.String())
		if c.OnLease != nil {
			c.OnLease(l)
		}
	} else {
		log.Debug("dhcp: renewed", "lease", l.String())
	}
	return &l
}

func (c *DHCPClient) drop(log *slog.Logger, l WANLease) {
	if err := DelAddr(c.Iface, l.Addr); err != nil {
		log.Warn("dhcp: remove address", "err", err)
	}
	if c.OnLost != nil {
		c.OnLost()
	}
}

// sleep waits d, or until ctx ends (false), or a carrier-up event arrives
// on wake (a reason to retry at once).
func sleep(ctx context.Context, d time.Duration, wake <-chan bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case up := <-wake:
			if up {
				return true
			}
		}
	}
}
