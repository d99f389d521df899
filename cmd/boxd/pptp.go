package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// pptpServer is the PPTP side of a running box: the session server, its
// control listener, the TUN it carries the pool on, and how logins are
// checked and accounted.
type pptpServer struct {
	srv  *session.Server
	ln   net.Listener
	tun  *tunNet
	acct *liveAAA
}

// startPPTP brings the PPTP server up from cfg: logins and accounting
// (newAAA, with users as the local table), the TUN (tunNet), the GRE socket
// and the control listener, the session server, and RADIUS dynamic
// authorization. nofile is the soft descriptor limit raiseNoFile left (0 if
// unknown): it bounds max_connections. The caller serves ps.srv on ps.ln,
// then stops ps.acct and removes ps.tun's routes. spool is -acct-spool.
func startPPTP(ctx context.Context, cfg *config.Config, users ppp.Authenticator, nofile uint64, spool string, log *slog.Logger) (*pptpServer, error) {
	setup, err := newAAA(cfg, users, spool, log)
	if err != nil {
		return nil, err
	}
	acct := newLiveAAA(setup)
	p := cfg.PPTPParams()
	pool := ippool.New(p.Pool)
	t, err := openTunNet(p, pool, cfg.Users, log)
	if err != nil {
		return nil, err
	}
	gs, ln, err := listenPPTP(ctx, p, log)
	if err != nil {
		closeAll(t.devs)
		return nil, err
	}
	sc := sessionConfig(p, pool, acct, connCap(p.MaxConns, nofile, log), log)
	sc.OnAddr = t.onAddr(proxyARP(cfg, log))
	sc.OnRoute = t.onRoute
	ps := &pptpServer{srv: session.NewSharded(sc, gs, t.devs), ln: ln, tun: t, acct: acct}
	setup.start(ctx)
	if err := setup.serveDAE(ctx, ps.srv); err != nil {
		t.delRoutes()
		return nil, err
	}
	return ps, nil
}

// sessionConfig is the session server's configuration from [pptp], with
// maxConns as connCap sized it.
func sessionConfig(p config.PPTPParams, pool *ippool.Pool, acct *liveAAA, maxConns int, log *slog.Logger) session.Config {
	return session.Config{
		Logger:           log,
		Name:             p.Name,
		LocalIP:          p.LocalIP,
		Pool:             pool,
		DNS:              p.DNS,
		Auth:             p.Auth,
		AuthRetries:      p.AuthRetries,
		Authenticator:    acct,
		Accounting:       acct,
		MPPE:             p.MPPE,
		MRU:              uint16(p.MTU),
		EchoInterval:     p.EchoInterval,
		EchoFailure:      p.EchoFailure,
		CtrlEchoInterval: p.CtrlEchoInterval,
		SingleSession:    p.SingleSession,
		MaxSessions:      p.MaxSessions,
		Guard:            authGuard(p.Guard),

		// Limits against unauthenticated peers (issue 14; rlimit.go).
		MaxConns:           maxConns,
		MaxConnsPerSource:  p.MaxConnsPerSource,
		MaxCallsPerConn:    p.MaxCallsPerConn,
		MaxUnauthPerSource: p.MaxUnauthPerSource,
		StartTimeout:       p.StartTimeout,
		LoginTimeout:       p.LoginTimeout,
		RateLimit:          p.RateLimit,
	}
}

// listenPPTP opens the GRE sockets, one receive shard per core
// (gre.ListenIPv4Shards), and the control listener (TCP 1723). In router
// mode the listen address may be the WAN address that the router is
// assigning right now (or a DHCP lease still to come): wait for it rather
// than fail.
func listenPPTP(ctx context.Context, p config.PPTPParams, log *slog.Logger) ([]gre.Conn, net.Listener, error) {
	var gs []gre.Conn
	err := waitAddr(ctx, log, p.Listen, func() (err error) {
		gs, err = gre.ListenIPv4Shards(p.ListenIP, runtime.GOMAXPROCS(0))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var ln net.Listener
	err = waitAddr(ctx, log, p.Listen, func() (err error) { ln, err = net.Listen("tcp4", p.Listen); return err })
	if err != nil {
		closeAll(gs)
		return nil, nil, fmt.Errorf("pptp: %w", err)
	}
	return gs, ln, nil
}

// waitAddr retries open while it fails because the address is not (yet) on
// any interface, until ctx ends or addrWait passes.
func waitAddr(ctx context.Context, log *slog.Logger, addr string, open func() error) error {
	deadline := time.Now().Add(addrWait)
	for logged := false; ; {
		err := open()
		if err == nil || !errors.Is(err, syscall.EADDRNOTAVAIL) || time.Now().After(deadline) {
			return err
		}
		if !logged {
			log.Info("waiting for the listen address to appear", "listen", addr)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// addrWait bounds waitAddr: long enough for a DHCP lease on a slow WAN.
const addrWait = 2 * time.Minute

// proxyARP answers ARP on the LAN for session addresses inside the LAN subnet
// (pppd's proxyarp), so LAN hosts reach VPN clients numbered from their own
// subnet without a route.
func proxyARP(cfg *config.Config, log *slog.Logger) func(netip.Addr, bool) {
	if !cfg.PPTPParams().ProxyARP || !cfg.RouterEnabled() || !cfg.LAN.Enabled {
		return nil
	}
	lan := cfg.LAN.LANPrefix().Masked()
	dev := cfg.LAN.Interface
	return func(a netip.Addr, up bool) {
		if !lan.Contains(a) {
			return
		}
		var err error
		if up {
			err = netcfg.AddProxyARP(a, dev)
		} else {
			err = netcfg.DelProxyARP(a, dev)
		}
		if err != nil {
			log.Warn("proxy arp", "addr", a.String(), "dev", dev, "up", up, "err", err)
		}
	}
}

// logStopped logs the session server's drop counters as boxd stops.
func logStopped(log *slog.Logger, st session.StatsSnapshot) {
	log.Info("boxd stopped", "gre_malformed", st.GREMalformed, "gre_unknown_call", st.GREUnknownCall,
		"gre_wrong_peer", st.GREWrongPeer, "gre_dropped", st.GREDropped, "tun_no_session", st.TUNNoSession,
		"ctrl_malformed", st.Control.Malformed, "ctrl_bad_magic", st.Control.BadMagic, "ctrl_unknown", st.Control.Unknown)
}
