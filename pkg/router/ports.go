package router

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// A port's interface may be absent: a board's card missing, a USB NIC
// unplugged, a config naming an interface this machine lacks. The router
// then runs without it and says so (Ports), and brings it up when the
// interface appears (a card plugged in, the init renaming a late card to
// its role); an interface that goes away takes its services down and the
// port waits for it again:
//
//	absent --(RTM_NEWLINK for the name)--> up: configure, run services
//	up --(RTM_DELLINK for the name)------> absent: services stopped
//	up --(a service fails)---------------> the router stops (as before)

// PortState is one port as the router sees it, for show and status.
type PortState struct {
	Role    string    `json:"role"`  // "wan", "lan"
	Iface   string    `json:"iface"` // the interface the config names
	Present bool      `json:"present"`
	Since   time.Time `json:"since"` // when it last came or went
	// Off is what does not run while the port is absent.
	Off []string `json:"off,omitempty"`
}

// Ports returns the ports' states (nil before Run).
func (r *Router) Ports() []PortState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.ports)
	for i := range out {
		out[i].Off = slices.Clone(out[i].Off)
	}
	return out
}

func (r *Router) setPresent(i int, present bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ports[i].Present, r.ports[i].Since = present, time.Now()
}

// port is one port's interface and what runs on it.
type port struct {
	role, iface string
	off         []string
	// run configures the port and runs its services until ctx ends (nil)
	// or a service fails.
	run func(ctx context.Context) error
	// gone runs when the interface went away under the running services.
	gone func(ctx context.Context)
}

func (r *Router) wanPort() port {
	w := r.cfg.WAN
	p := port{role: "wan", iface: w.Iface, off: []string{"internet access (NAT)", "PPTP from the internet"}}
	if w.DHCP {
		p.off = append(p.off, "WAN DHCP client")
	} else {
		p.off = append(p.off, "WAN address "+w.Addr.String())
	}
	p.run = func(ctx context.Context) error {
		if err := r.cfg.Ports.ConfigureWAN(); err != nil {
			return err
		}
		if !w.DHCP {
			r.setWAN(ctx, w.Addr.Addr())
			<-ctx.Done()
			return nil
		}
		return wanClient(r.log, w, r.cfg.ResolvConf, func(a netip.Addr) { r.setWAN(ctx, a) }).Run(ctx)
	}
	p.gone = func(ctx context.Context) {
		if w.DHCP {
			r.setWAN(ctx, netip.Addr{}) // the lease went with the card
		}
	}
	return p
}

func (r *Router) lanPort() port {
	l := r.cfg.LAN
	p := port{role: "lan", iface: l.Iface, off: []string{"LAN address " + l.Addr.String()}}
	if r.cfg.DHCPServer != nil {
		p.off = append(p.off, "LAN DHCP server")
	}
	p.run = func(ctx context.Context) error {
		if err := r.cfg.Ports.ConfigureLAN(); err != nil {
			return err
		}
		if r.cfg.DHCPServer == nil {
			<-ctx.Done()
			return nil
		}
		cfg := r.cfg.dhcpServer()
		if cfg.Logger == nil {
			cfg.Logger = r.log
		}
		srv, err := dhcpd.New(cfg)
		if err != nil {
			return err
		}
		r.dhcp.Store(srv)
		defer r.dhcp.Store(nil)
		return srv.Serve(ctx)
	}
	p.gone = func(context.Context) {}
	return p
}

// runPort runs port i: while its interface is absent it waits for it,
// while present it runs the port's services. The subscription to link
// events is made before each look at the interface, so that an interface
// appearing (or going) between the look and the wait is not missed.
func (r *Router) runPort(ctx context.Context, i int, p port) error {
	log := r.log.With("port", p.role, "iface", p.iface)
	for ctx.Err() == nil {
		w, err := netcfg.NewLinkWatcher()
		if err != nil {
			return err
		}
		wctx, stop := context.WithCancel(ctx)
		var once sync.Once
		changed := make(chan struct{})
		present := linkPresent(p.iface)
		go w.Run(wctx, func(ev netcfg.LinkEvent) {
			if ev.Name == p.iface && ev.Deleted == present {
				once.Do(func() { close(changed) })
				stop()
			}
		})
		if !present {
			r.setPresent(i, false)
			log.Warn("port absent: serving without it until its interface appears", "off", p.off)
			select {
			case <-ctx.Done():
			case <-changed:
				log.Info("port appeared: bringing it up")
			}
			stop()
			continue
		}
		r.setPresent(i, true)
		err = p.run(wctx)
		stop()
		if ctx.Err() != nil {
			return nil
		}
		// A service that failed because its interface went away (a socket
		// error before the link event arrived) is the port going, not a
		// failure of the router.
		gone := !linkPresent(p.iface)
		select {
		case <-changed:
			gone = true
		default:
		}
		if gone {
			r.setPresent(i, false)
			log.Warn("port gone: its services stopped until it is back", "off", p.off, "err", err)
			p.gone(ctx)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func linkPresent(name string) bool {
	_, err := netcfg.LinkIndex(name)
	return err == nil
}
