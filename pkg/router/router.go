// Package router is the router half of the box: it owns the ports. Run
// programs them through netcfg (links, addresses, sysctls), applies the
// nftables table (nat), runs the LAN DHCP server (dhcpd) and the WAN DHCP
// client (dhcp4c), installs the WAN leases, and re-applies the table when
// the WAN address changes and on Reload. boxd drives it; so does the
// end-to-end test in this package.
//
// netcfg, nat, dhcpd and dhcp4c import none of each other: this package is
// where they meet.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// Config is what the router runs. pkg/config builds its parts
// (Config.Ports, Config.DHCPServer, Config.NATParams).
type Config struct {
	netcfg.Ports // WAN, LAN (nil: none), ResolvConf
	// DHCPServer, when not nil, runs the LAN DHCP server; its Iface,
	// ServerAddr, Prefix and Router default to the LAN port's.
	DHCPServer *dhcpd.Config
	// NAT is the first table to apply (its WANAddr may be zero: Run fills
	// it from a static WAN, the DHCP client's lease from a dynamic one).
	NAT    nat.Params
	Logger *slog.Logger
}

// Validate checks the configuration without touching the system.
func (c *Config) Validate() error {
	errs := []error{c.Ports.Validate()}
	if c.DHCPServer != nil {
		if c.LAN == nil {
			errs = append(errs, errors.New("router: a LAN DHCP server needs a LAN port"))
		} else {
			d := c.dhcpServer()
			errs = append(errs, d.Validate())
		}
	}
	return errors.Join(errs...)
}

// dhcpServer fills the LAN DHCP server's defaults from the port.
func (c *Config) dhcpServer() dhcpd.Config {
	d, l := *c.DHCPServer, c.LAN
	if d.Iface == "" {
		d.Iface = l.Iface
	}
	if !d.ServerAddr.IsValid() {
		d.ServerAddr = l.Addr.Addr()
	}
	if !d.Prefix.IsValid() {
		d.Prefix = l.Addr.Masked()
	}
	if !d.Router.IsValid() {
		d.Router = l.Addr.Addr()
	}
	return d
}

// Router keeps the ports configured and the nftables table in step with
// them: it applies the table at start, again whenever the WAN address
// changes, and on Reload.
type Router struct {
	cfg  Config
	log  *slog.Logger
	dhcp atomic.Pointer[dhcpd.Server] // the LAN DHCP server, once it runs

	mu      sync.Mutex
	params  nat.Params // the last table applied, or the first one to apply
	applied bool
	ports   []PortState // once Run has started them
}

// New returns a router for cfg; Run starts it.
func New(cfg Config) *Router {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Router{cfg: cfg, log: log, params: cfg.NAT}
	// The ports' states exist from the start, each as its interface is now, so
	// that Ports answers before Run has started them (boxd's ping, the init's
	// readiness check, asks at once).
	for _, p := range r.portList() {
		r.ports = append(r.ports, PortState{Role: p.role, Iface: p.iface, Off: p.off, Present: linkPresent(p.iface), Since: time.Now()})
	}
	return r
}

// portList is the router's ports: the WAN, and the LAN when there is one.
func (r *Router) portList() []port {
	ports := []port{r.wanPort()}
	if r.cfg.LAN != nil {
		ports = append(ports, r.lanPort())
	}
	return ports
}

// Params returns the parameters of the table currently applied.
func (r *Router) Params() nat.Params {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.params
}

// DHCPStats returns the LAN DHCP server's counters (for `boxctl stats`);
// false when it does not run (yet).
func (r *Router) DHCPStats() (dhcpd.Stats, bool) {
	if s := r.dhcp.Load(); s != nil {
		return s.Stats(), true
	}
	return dhcpd.Stats{}, false
}

// Run applies the table, then configures the ports and runs their
// services until ctx ends. The table is applied before the ports come up,
// so the box is never exposed with forwarding on and no filter.
func (r *Router) Run(ctx context.Context) error {
	if !r.cfg.WAN.DHCP {
		r.mu.Lock()
		r.params.WANAddr = r.cfg.WAN.Addr.Addr()
		r.mu.Unlock()
	}
	if _, err := r.update(ctx, func(*nat.Params) {}); err != nil {
		return err
	}
	return r.runPorts(ctx)
}

// runPorts runs each port (runPort) until ctx ends or one's services fail.
// A port whose interface is absent does not hold the others up: the box
// serves on the ports it has (PPTP on the LAN with no WAN, say).
func (r *Router) runPorts(ctx context.Context) error {
	if err := r.cfg.Validate(); err != nil {
		return err
	}
	if err := netcfg.EnableForwarding(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ports := r.portList()
	var wg sync.WaitGroup
	errc := make(chan error, len(ports))
	for i, p := range ports {
		wg.Go(func() { errc <- r.runPort(ctx, i, p) })
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		if first != nil {
			first = fmt.Errorf("router: ports: %w", first)
		}
	}
	cancel()
	wg.Wait()
	close(errc)
	errs := []error{first}
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// setWAN re-applies the table for a new WAN address (zero: unknown).
func (r *Router) setWAN(ctx context.Context, a netip.Addr) {
	changed, err := r.update(ctx, func(p *nat.Params) { p.WANAddr = a })
	switch {
	case err != nil:
		r.log.Error("nat: wan address changed, rules not updated", "addr", a, "err", err)
	case changed:
		r.log.Info("nat: rules follow the wan address", "addr", a)
	}
}

// Reload applies new parameters, keeping the current WAN address. On error
// the previous table stays in force and is still what Params returns.
func (r *Router) Reload(ctx context.Context, p nat.Params) error {
	_, err := r.update(ctx, func(cur *nat.Params) {
		if !p.WANAddr.IsValid() {
			p.WANAddr = cur.WANAddr
		}
		*cur = p
	})
	if err != nil {
		return fmt.Errorf("nat: reload refused, previous rules kept: %w", err)
	}
	r.log.Info("nat: reloaded")
	return nil
}

// update edits a copy of the current parameters and applies it, all under
// the lock, so a reload and a WAN change cannot undo each other. It
// reports whether anything changed.
func (r *Router) update(ctx context.Context, edit func(*nat.Params)) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.params
	p.VPNPools = slices.Clone(p.VPNPools)
	p.Masquerade = slices.Clone(p.Masquerade)
	p.MgmtTCPPorts = slices.Clone(p.MgmtTCPPorts)
	p.Forwards = slices.Clone(p.Forwards)
	edit(&p)
	if r.applied && reflect.DeepEqual(p, r.params) {
		return false, nil
	}
	if err := nat.Apply(ctx, p); err != nil {
		return false, err
	}
	r.params, r.applied = p, true
	return true, nil
}
