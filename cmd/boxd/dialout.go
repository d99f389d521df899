package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dialout"
	"github.com/pptpbox/pptpbox/pkg/gre"
)

// startDialOuts runs a Dialer for each [[pptp.dial]] until ctx ends; the
// dial-outs share one GRE socket (a client.Mux). wg is done once every
// dialer has hung up and the socket is closed.
func startDialOuts(ctx context.Context, dials []config.DialParams, log *slog.Logger, wg *sync.WaitGroup) ([]*dialout.Dialer, error) {
	if len(dials) == 0 {
		return nil, nil
	}
	g, err := gre.ListenIPv4(netip.IPv4Unspecified())
	if err != nil {
		return nil, fmt.Errorf("dial-out: GRE socket: %w", err)
	}
	mux := client.NewMux(g)
	var ds []*dialout.Dialer
	var running sync.WaitGroup
	for _, p := range dials {
		d := dialout.New(dialout.Config{
			Name:   p.Name,
			Logger: log,
			Connector: &dialout.PPTP{Mux: mux, Iface: p.Iface, Server: p.Server, User: p.User, Password: p.Password,
				Routes: p.Routes, Logger: log.With("dialout", p.Name)},
		})
		ds = append(ds, d)
		running.Add(1)
		go func() { defer running.Done(); d.Run(ctx) }()
		log.Info("dial-out", "name", p.Name, "server", p.Server, "iface", p.Iface, "routes", fmt.Sprint(p.Routes), "masquerade", p.Masquerade)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		running.Wait()
		mux.Close()
	}()
	return ds, nil
}

// DialOuts lists the dial-outs with their state.
func (a boxAPI) DialOuts(ctx context.Context) ([]control.DialOut, error) {
	a.b.mu.Lock()
	ds, cfg := a.b.dialouts, a.b.cfg
	a.b.mu.Unlock()
	return controlDialOuts(cfg.Dials(), ds), nil
}

// controlDialOuts pairs the config's dial-outs with their dialers (by
// name: a reload keeps [pptp] until a restart, so they are the same).
func controlDialOuts(params []config.DialParams, ds []*dialout.Dialer) []control.DialOut {
	out := make([]control.DialOut, 0, len(params))
	for _, p := range params {
		d := control.DialOut{Name: p.Name, Iface: p.Iface, Server: p.Server, Masquerade: p.Masquerade, State: dialout.Down.String()}
		for _, r := range p.Routes {
			d.Routes = append(d.Routes, r.String())
		}
		for _, dl := range ds {
			st := dl.Status()
			if st.Name != p.Name {
				continue
			}
			d.State, d.Since, d.Connects, d.Failures, d.LastError, d.NextDial = st.State.String(), st.Since, st.Connects, st.Failures, st.LastError, st.NextDial
			if st.Local.IsValid() {
				d.Local, d.Peer = st.Local.String(), st.Peer.String()
			}
		}
		out = append(out, d)
	}
	return out
}
