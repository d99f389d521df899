package netcfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
)

// sysctls the router needs (ip-sysctl.txt): forwarding on; strict reverse
// path filtering (RFC 3704 §2.2) on the ports so spoofed sources are
// dropped before they reach the rules.
func (p *Ports) sysctls() [][2]string {
	s := [][2]string{
		{"net/ipv4/ip_forward", "1"},
		{"net/ipv4/conf/" + p.WAN.Iface + "/rp_filter", "1"},
		// A WAN that also answers ARP for other ports' addresses
		// confuses upstream; answer only for addresses on the WAN itself.
		{"net/ipv4/conf/" + p.WAN.Iface + "/arp_ignore", "1"},
	}
	if p.LAN != nil {
		s = append(s, [2]string{"net/ipv4/conf/" + p.LAN.Iface + "/rp_filter", "1"})
	}
	return s
}

// Configure programs everything that is not a running service: sysctls,
// links up with their MTU, the LAN address, and a static WAN. It is
// idempotent, for start and reload.
func (p *Ports) Configure() error {
	if err := p.Validate(); err != nil {
		return err
	}
	for _, s := range p.sysctls() {
		if err := SetSysctl(s[0], s[1]); err != nil {
			return err
		}
	}
	if p.LAN != nil {
		if err := upWithMTU(p.LAN.Iface, p.LAN.MTU); err != nil {
			return err
		}
		if err := AddAddr(p.LAN.Iface, p.LAN.Addr, netip.Addr{}); err != nil {
			return err
		}
	}
	if err := upWithMTU(p.WAN.Iface, p.WAN.MTU); err != nil {
		return err
	}
	if p.WAN.DHCP {
		return nil
	}
	if err := AddAddr(p.WAN.Iface, p.WAN.Addr, netip.Addr{}); err != nil {
		return err
	}
	if p.WAN.Gateway.IsValid() {
		if err := AddRouteVia(netip.PrefixFrom(netip.IPv4Unspecified(), 0), p.WAN.Gateway, p.WAN.Iface); err != nil {
			return err
		}
	}
	if p.ResolvConf != "" && len(p.WAN.DNS) > 0 {
		return WriteResolvConf(p.ResolvConf, p.WAN.DNS)
	}
	return nil
}

func upWithMTU(name string, mtu int) error {
	if mtu != 0 {
		if err := SetMTU(name, mtu); err != nil {
			return err
		}
	}
	return LinkUp(name)
}

// Run configures the ports and then runs their services (WAN DHCP client,
// LAN DHCP server) until ctx ends. OnWAN reports the WAN address.
func (p *Ports) Run(ctx context.Context) error {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := p.Configure(); err != nil {
		return err
	}
	onWAN := func(a netip.Prefix) {
		if p.OnWAN != nil {
			p.OnWAN(a)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	if p.LAN != nil && p.LAN.DHCP != nil {
		cfg := p.LAN.dhcpConfig()
		if cfg.Logger == nil {
			cfg.Logger = log
		}
		srv, err := dhcpd.New(cfg)
		if err != nil {
			return err
		}
		if p.OnDHCPServer != nil {
			p.OnDHCPServer(srv)
		}
		wg.Go(func() { errc <- srv.Serve(ctx) })
	}
	if p.WAN.DHCP {
		c := &DHCPClient{Iface: p.WAN.Iface, Hostname: p.WAN.Hostname, ResolvConf: p.ResolvConf, Logger: log,
			OnLease: func(l WANLease) { onWAN(l.Addr) },
			OnLost:  func() { onWAN(netip.Prefix{}) }}
		wg.Go(func() { errc <- c.Run(ctx) })
	} else {
		onWAN(p.WAN.Addr)
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		if first != nil {
			first = fmt.Errorf("netcfg: ports: %w", first)
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
