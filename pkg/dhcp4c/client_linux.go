package dhcp4c

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

// Run keeps the lease until ctx ends. It returns nil then, or an error when
// the interface cannot be watched. Sockets are opened on the calling
// goroutine, so a caller locked into a network namespace keeps them there.
func (c *Client) Run(ctx context.Context) error {
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
	werr := make(chan error, 1)
	if c.Carrier != nil {
		// Subscribe here, not in the goroutine: the socket must be made on
		// the caller's thread, whose network namespace is the interface's.
		watch, err := c.Carrier()
		if err != nil {
			return err
		}
		go func() {
			werr <- watch(ctx, func(up bool) {
				select {
				case carrier <- up:
				default:
				}
			})
		}()
	}

	var cur *Lease
	backoff := time.Second
	for ctx.Err() == nil {
		if cur == nil || time.Now().After(cur.Expiry()) {
			if cur != nil {
				log.Warn("dhcp: lease expired", "addr", cur.Addr)
				c.drop(*cur)
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
func (c *Client) renew(ctx context.Context, log *slog.Logger, cur *Lease) *Lease {
	for ctx.Err() == nil && time.Now().Before(cur.Expiry()) {
		rebinding := time.Now().After(cur.Bound.Add(cur.Rebind))
		var l Lease
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
func (c *Client) exchange(ctx context.Context, cur *Lease, want netip.Addr) (Lease, error) {
	cl, err := nclient4.New(c.Iface, nclient4.WithTimeout(c.Timeout), nclient4.WithRetry(2))
	if err != nil {
		return Lease{}, fmt.Errorf("dhcp4c: dhcp on %s: %w", c.Iface, err)
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
		return Lease{}, fmt.Errorf("dhcp4c: dhcp on %s: %w", c.Iface, err)
	}
	l, err := leaseFromACK(lease.ACK, time.Now())
	if err != nil {
		return Lease{}, err
	}
	l.ack, l.offer = lease.ACK, lease.Offer
	return l, nil
}

// install hands l to Install (replacing old) and reports it when it is new
// or moved.
func (c *Client) install(log *slog.Logger, old *Lease, l Lease) *Lease {
	changed := old == nil || old.Addr != l.Addr || old.Router != l.Router
	if c.Install != nil {
		c.Install(old, l)
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

func (c *Client) drop(l Lease) {
	if c.OnLost != nil {
		c.OnLost(l)
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
