package router

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/dhcp4c"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// wanClient is the WAN's DHCP client: its leases go on the WAN port
// (address, default route, resolver), and their address to onWAN (zero
// when the lease is lost), which re-applies the nat table.
func wanClient(log *slog.Logger, w netcfg.WAN, resolvConf string, onWAN func(netip.Addr)) *dhcp4c.Client {
	return &dhcp4c.Client{Iface: w.Iface, Hostname: w.Hostname, Logger: log,
		Install: func(old *dhcp4c.Lease, l dhcp4c.Lease) { installLease(log, w.Iface, resolvConf, old, l) },
		OnLease: func(l dhcp4c.Lease) { onWAN(l.Addr.Addr()) },
		OnLost: func(l dhcp4c.Lease) {
			dropLease(log, w.Iface, l)
			onWAN(netip.Addr{})
		},
		Carrier: carrierWatch(w.Iface)}
}

// installLease puts l on iface, replacing old when the address moved, and
// writes its DNS servers to resolvConf (empty: skip).
func installLease(log *slog.Logger, iface, resolvConf string, old *dhcp4c.Lease, l dhcp4c.Lease) {
	log = log.With("dhcp", iface)
	if old != nil && old.Addr != l.Addr {
		if err := netcfg.DelAddr(iface, old.Addr); err != nil {
			log.Warn("dhcp: remove old address", "err", err)
		}
	}
	if err := netcfg.AddAddr(iface, l.Addr, netip.Addr{}); err != nil {
		log.Error("dhcp: install address", "err", err)
	}
	if l.Router.IsValid() {
		if err := netcfg.AddRouteVia(netip.PrefixFrom(netip.IPv4Unspecified(), 0), l.Router, iface); err != nil {
			log.Error("dhcp: install default route", "err", err)
		}
	}
	if resolvConf != "" && len(l.DNS) > 0 {
		if err := netcfg.WriteResolvConf(resolvConf, l.DNS); err != nil {
			log.Error("dhcp: resolver", "err", err)
		}
	}
}

// dropLease takes an expired lease's address off iface.
func dropLease(log *slog.Logger, iface string, l dhcp4c.Lease) {
	if err := netcfg.DelAddr(iface, l.Addr); err != nil {
		log.With("dhcp", iface).Warn("dhcp: remove address", "err", err)
	}
}

// carrierWatch reports the carrier of iface from netcfg's link watcher.
func carrierWatch(iface string) dhcp4c.CarrierWatch {
	return func() (func(context.Context, func(bool)) error, error) {
		w, err := netcfg.NewLinkWatcher()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, changed func(bool)) error {
			return w.Run(ctx, func(ev netcfg.LinkEvent) {
				if ev.Name == iface {
					changed(ev.Up && ev.Carrier)
				}
			})
		}, nil
	}
}
