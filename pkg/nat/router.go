package nat

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"

	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// Router keeps the nftables table in step with the ports: it applies the
// table at start, again whenever netcfg reports a new WAN address, and on
// Reload. It is what boxd runs for the router half of the box.
type Router struct {
	log *slog.Logger

	mu      sync.Mutex
	params  Params // the last table applied, or the first one to apply
	applied bool
}

// NewRouter starts from p (its WANAddr may be zero).
func NewRouter(p Params, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	return &Router{params: p, log: log}
}

// Params returns the parameters of the table currently applied.
func (r *Router) Params() Params {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.params
}

// Run applies the table, then runs the ports (netcfg.Ports.Run, whose
// OnWAN it takes over) until ctx ends. The table is applied before the
// ports come up, so the box is never exposed with forwarding on and no
// filter.
func (r *Router) Run(ctx context.Context, ports netcfg.Ports) error {
	if !ports.WAN.DHCP {
		r.mu.Lock()
		r.params.WANAddr = ports.WAN.Addr.Addr()
		r.mu.Unlock()
	}
	if _, err := r.update(ctx, func(*Params) {}); err != nil {
		return err
	}
	ports.OnWAN = func(a netip.Prefix) { r.SetWAN(ctx, a.Addr()) }
	return ports.Run(ctx)
}

// SetWAN re-applies the table for a new WAN address (zero: unknown).
func (r *Router) SetWAN(ctx context.Context, a netip.Addr) {
	changed, err := r.update(ctx, func(p *Params) { p.WANAddr = a })
	switch {
	case err != nil:
		r.log.Error("nat: wan address changed, rules not updated", "addr", a, "err", err)
	case changed:
		r.log.Info("nat: rules follow the wan address", "addr", a)
	}
}

// Reload applies new parameters, keeping the current WAN address. On error
// the previous table stays in force and is still what Params returns.
func (r *Router) Reload(ctx context.Context, p Params) error {
	_, err := r.update(ctx, func(cur *Params) {
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
func (r *Router) update(ctx context.Context, edit func(*Params)) (bool, error) {
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
	if err := Apply(ctx, p); err != nil {
		return false, err
	}
	r.params, r.applied = p, true
	return true, nil
}
