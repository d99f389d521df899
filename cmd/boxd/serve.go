package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/session"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs the box until ctx ends.
func serve(ctx context.Context, cfg *config.Config, sock string, stderr io.Writer) error {
	log := newLogger(stderr, cfg.Log.Level)
	log.Info("boxd starting", "version", version, "config", cfg.File())
	if !cfg.PPTP.Enabled {
		log.Warn("pptp disabled in config; nothing to serve")
		<-ctx.Done()
		return nil
	}
	srv, ln, cleanup, err := startPPTP(cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()

	var wg sync.WaitGroup
	ctlCtx, stopCtl := context.WithCancel(ctx)
	defer stopCtl()
	if sock != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := control.Serve(ctlCtx, sock, controlHandler(srv), log); err != nil {
				log.Error("control socket", "err", err)
			}
		}()
	}
	log.Info("pptp server ready", "listen", ln.Addr().String(), "local_ip", cfg.PPTP.LocalIP,
		"remote_ip", cfg.PPTP.RemoteIP, "tun", cfg.PPTP.Tun, "auth", cfg.PPTP.Auth, "mppe", cfg.PPTP.MPPE)
	err = srv.Serve(ctx, ln)
	stopCtl()
	wg.Wait()
	st := srv.Stats()
	log.Info("boxd stopped", "gre_malformed", st.GREMalformed, "gre_unknown_call", st.GREUnknownCall,
		"gre_wrong_peer", st.GREWrongPeer, "gre_dropped", st.GREDropped, "tun_no_session", st.TUNNoSession)
	return err
}

// startPPTP opens the TUN device, routes the pool to it, opens the GRE socket
// and the TCP listener, and builds the server.
func startPPTP(cfg *config.Config, log *slog.Logger) (*session.Server, net.Listener, func(), error) {
	p := &cfg.PPTP
	ranges, err := ippool.ParseRanges(p.RemoteIP)
	if err != nil {
		return nil, nil, nil, err // Validate has checked it
	}
	pool := ippool.New(ranges)
	users := make([]aaa.LocalUser, 0, len(cfg.Users))
	var routes []netip.Prefix
	for _, u := range cfg.Users {
		users = append(users, aaa.LocalUser{Name: u.Name, Password: u.Password, IP: u.FixedAddr()})
		if a := u.FixedAddr(); a.IsValid() && !pool.Contains(a) {
			routes = append(routes, netip.PrefixFrom(a, 32))
		}
	}
	routes = append(ippool.Prefixes(ranges), routes...)

	dev, err := tun.Open(p.Tun)
	if err != nil {
		return nil, nil, nil, err
	}
	local := p.LocalAddr()
	setup := []func() error{
		func() error { return netcfg.SetMTU(p.Tun, p.MTU) },
		func() error { return netcfg.AddAddr(p.Tun, netip.PrefixFrom(local, 32), netip.Addr{}) },
		func() error { return netcfg.LinkUp(p.Tun) },
		func() error { return netcfg.SetSysctl("net/ipv4/ip_forward", "1") },
	}
	for _, r := range routes {
		setup = append(setup, func() error { return netcfg.AddRoute(r, p.Tun) })
	}
	for _, f := range setup {
		if err := f(); err != nil {
			dev.Close()
			return nil, nil, nil, fmt.Errorf("tun %s: %w", p.Tun, err)
		}
	}

	host, _, _ := net.SplitHostPort(p.Listen)
	greAddr := netip.IPv4Unspecified()
	if host != "" {
		if a, err := netip.ParseAddr(host); err == nil {
			greAddr = a
		}
	}
	g, err := gre.ListenIPv4(greAddr)
	if err != nil {
		dev.Close()
		return nil, nil, nil, err
	}
	ln, err := net.Listen("tcp4", p.Listen)
	if err != nil {
		g.Close()
		dev.Close()
		return nil, nil, nil, fmt.Errorf("pptp: %w", err)
	}

	auth := make([]ppp.AuthProto, 0, len(p.Auth))
	for _, s := range p.Auth {
		a, _ := ppp.ParseAuthProto(s)
		auth = append(auth, a)
	}
	single, err := session.ParseSingleSession(p.SingleSession)
	if err != nil {
		return nil, nil, nil, err
	}
	var dns [2]netip.Addr
	copy(dns[:], p.DNSAddrs())
	srv := session.New(session.Config{
		Logger:           log,
		Name:             p.Name,
		LocalIP:          local,
		Pool:             pool,
		DNS:              dns,
		Auth:             auth,
		AuthRetries:      p.AuthRetries,
		Authenticator:    aaa.NewLocal(users),
		MPPE:             mppePolicy(p),
		MRU:              uint16(p.MTU),
		EchoInterval:     p.EchoInterval.Duration,
		EchoFailure:      p.EchoFailure,
		CtrlEchoInterval: p.CtrlEchoInterval.Duration,
		SingleSession:    single,
		MaxSessions:      p.MaxSessions,
	}, g, dev)
	cleanup := func() {
		for _, r := range routes {
			_ = netcfg.DelRoute(r, p.Tun)
		}
	}
	return srv, ln, cleanup, nil
}

// mppePolicy maps pptp.mppe / mppe_stateful to the PPP layer's policy.
func mppePolicy(p *config.PPTP) ppp.MPPEPolicy {
	pol := ppp.MPPEPolicy{AllowStateful: p.MPPEStateful, PreferStateful: p.MPPEStateful}
	switch p.MPPE {
	case "require-128":
		pol.Required, pol.Bits128 = true, true
	case "require":
		pol.Required, pol.Bits40, pol.Bits56, pol.Bits128 = true, true, true, true
	case "allow":
		pol.Bits40, pol.Bits56, pol.Bits128 = true, true, true
	}
	return pol
}

func controlHandler(srv *session.Server) control.Handler {
	return func(ctx context.Context, req control.Request) (any, error) {
		switch req.Cmd {
		case "sessions":
			return srv.Sessions(), nil
		case "stats":
			return srv.Stats(), nil
		case "disconnect":
			if len(req.Args) != 1 {
				return nil, errors.New("usage: disconnect USER")
			}
			n := srv.Disconnect(req.Args[0], "disconnected by the administrator")
			if n == 0 {
				return nil, fmt.Errorf("no session for user %q", req.Args[0])
			}
			return map[string]int{"ended": n}, nil
		case "ping":
			return map[string]string{"version": version, "time": time.Now().UTC().Format(time.RFC3339)}, nil
		}
		return nil, fmt.Errorf("unknown command %q (sessions, stats, disconnect USER, ping)", req.Cmd)
	}
}
