package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"syscall"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// tunNet is the TUN device that carries the sessions' packets, and the
// kernel state around it: its MTU and address (local_ip), IPv6 off,
// accept_local, IP forwarding, and the routes to it. The pool's ranges are
// routed whole; each [[user]]'s fixed address outside the pool gets a /32
// that a reload adds or removes (setUsers); a session address outside both
// (a RADIUS Framed-IP-Address) gets one while the session is up (onAddr).
type tunNet struct {
	// devs are the device's queues, one per core, with offloads where the
	// kernel has them (tun.OpenQueuesOffload): the session server reads
	// each on a goroutine of its own.
	devs []tun.Device
	name string
	pool *ippool.Pool
	// poolRoutes are the pool's ranges as prefixes.
	poolRoutes []netip.Prefix
	log        *slog.Logger

	mu    sync.Mutex
	fixed map[netip.Prefix]bool // the users' /32 routes in place
}

// openTunNet opens the TUN device p.Tun and sets it up for the pool, with
// the fixed addresses of users routed to it. On an error the device is
// closed again.
func openTunNet(p config.PPTPParams, pool *ippool.Pool, users []config.User, log *slog.Logger) (*tunNet, error) {
	t := &tunNet{name: p.Tun, pool: pool, poolRoutes: ippool.Prefixes(p.Pool), log: log, fixed: map[netip.Prefix]bool{}}
	fixed := t.fixedRoutes(users)
	devs, err := tun.OpenQueuesOffload(p.Tun, runtime.GOMAXPROCS(0))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) {
			// No /dev/net/tun, or no tun driver: the image lacks the
			// module, and no restart will load it.
			return nil, unfixable{err}
		}
		return nil, err
	}
	setup := []func() error{
		func() error { return netcfg.SetMTU(p.Tun, p.MTU) },
		func() error { return netcfg.AddAddr(p.Tun, netip.PrefixFrom(p.LocalIP, 32), netip.Addr{}) },
		// The pool is IPv4 (IPCP only): no IPv6 router solicitations or
		// MLD reports into the TUN, which the dataplane would count as
		// malformed.
		func() error { return netcfg.DisableIPv6(p.Tun) },
		func() error { return netcfg.LinkUp(p.Tun) },
		func() error { return netcfg.SetSysctl("net/ipv4/ip_forward", "1") },
		// The session server answers packets too big for a client's MRU
		// with ICMP "fragmentation needed" from local_ip, written into
		// the TUN: without accept_local the kernel drops them as martians
		// (a source address of its own). Clients cannot use it to spoof:
		// the dataplane only passes a client's packets from its own address.
		func() error { return netcfg.SetSysctl("net/ipv4/conf/"+p.Tun+"/accept_local", "1") },
	}
	for _, r := range append(t.poolRoutes, fixed...) {
		setup = append(setup, func() error { return netcfg.AddRoute(r, p.Tun) })
	}
	if tun.Offloaded(devs[0]) {
		// A read splits a super-packet into BatchSize buffers at most: the
		// kernel segments larger ones itself (a TCP peer with a tiny MSS).
		// Linux 5.19+; without it such a super-packet loses its tail.
		if err := netcfg.SetGSOMaxSegs(p.Tun, devs[0].BatchSize()); err != nil {
			log.Warn("tun gso_max_segs not set", "tun", p.Tun, "err", err)
		}
	}
	for _, f := range setup {
		if err := f(); err != nil {
			closeAll(devs)
			return nil, fmt.Errorf("tun %s: %w", p.Tun, err)
		}
	}
	for _, r := range fixed {
		t.fixed[r] = true
	}
	t.devs = devs
	log.Info("tun device open", "tun", p.Tun, "queues", len(devs), "offloads", tun.Offloaded(devs[0]))
	return t, nil
}

// closeAll closes every queue (or socket) of cs.
func closeAll[C io.Closer](cs []C) {
	for _, c := range cs {
		c.Close()
	}
}

// fixedRoutes are the /32 routes the fixed addresses of users outside the
// pool need.
func (t *tunNet) fixedRoutes(users []config.User) []netip.Prefix {
	var out []netip.Prefix
	for _, u := range users {
		if a := u.FixedAddr(); a.IsValid() && !t.pool.Contains(a) {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	return out
}

// setUsers makes the fixed-address routes those of users (a reload): new
// fixed addresses are routed to the TUN, those of removed users are no
// longer.
func (t *tunNet) setUsers(users []config.User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	want := map[netip.Prefix]bool{}
	for _, r := range t.fixedRoutes(users) {
		want[r] = true
		if t.fixed[r] {
			continue
		}
		if err := netcfg.AddRoute(r, t.name); err != nil {
			t.log.Error("reload: route for a fixed address", "route", r.String(), "tun", t.name, "err", err)
			continue
		}
		t.fixed[r] = true
	}
	for r := range t.fixed {
		if want[r] {
			continue
		}
		if err := netcfg.DelRoute(r, t.name); err != nil {
			t.log.Error("reload: removing the route of a fixed address", "route", r.String(), "tun", t.name, "err", err)
			continue
		}
		delete(t.fixed, r)
	}
}

// onAddr is the session server's OnAddr: it routes a session address that
// is neither in the pool nor a [[user]]'s fixed address (both routed to the
// TUN already) to the TUN while the session is up: a RADIUS
// Framed-IP-Address outside the pool. Then it calls next (proxy ARP), if
// any.
func (t *tunNet) onAddr(next func(netip.Addr, bool)) func(netip.Addr, bool) {
	return func(a netip.Addr, up bool) {
		r := netip.PrefixFrom(a, 32)
		t.mu.Lock()
		routed := t.pool.Contains(a) || t.fixed[r]
		t.mu.Unlock()
		if !routed {
			var err error
			if up {
				err = netcfg.AddRoute(r, t.name)
			} else {
				err = netcfg.DelRoute(r, t.name)
			}
			if err != nil {
				t.log.Error("route for a session address outside the pool", "addr", a.String(), "up", up, "err", err)
			}
		}
		if next != nil {
			next(a, up)
		}
	}
}

// onRoute is the session server's OnRoute: a subnet routed through a
// session ([[user]] routes, RADIUS Framed-Route) is routed into the TUN
// while the session is up.
func (t *tunNet) onRoute(p netip.Prefix, up bool) {
	var err error
	if up {
		err = netcfg.AddRoute(p, t.name)
	} else {
		err = netcfg.DelRoute(p, t.name)
	}
	if err != nil {
		t.log.Error("route of a session's subnet", "route", p.String(), "tun", t.name, "up", up, "err", err)
	}
}

// delRoutes removes the pool's and the fixed addresses' routes, as boxd
// stops. The device itself is the session server's to close.
func (t *tunNet) delRoutes() {
	for _, r := range t.poolRoutes {
		_ = netcfg.DelRoute(r, t.name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for r := range t.fixed {
		_ = netcfg.DelRoute(r, t.name)
	}
}
