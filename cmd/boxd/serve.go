package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/router"
	"github.com/pptpbox/pptpbox/pkg/session"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// box is the running daemon: what a reload may change lives here.
type box struct {
	log    *slog.Logger
	path   string
	users  *localUsers
	router *router.Router // nil when the config has no router sections
	srv    *session.Server
	rc     *radius.Client // nil without [radius]

	mu  sync.Mutex
	cfg *config.Config // the last good config
	// fixed are the /32 routes to the TUN for users' fixed addresses
	// outside the pool; a reload adds and removes them with the users.
	// Nil until the PPTP server has started.
	fixed *fixedRoutes
}

// serve runs the box until ctx ends. SIGHUP reloads the config file: a file
// that fails validation is refused with its file:line:key error and the box
// keeps running on its last good config.
func serve(ctx context.Context, cfg *config.Config, path, sock string, stderr io.Writer) error {
	log := newLogger(stderr, cfg.Log.Level)
	log.Info("boxd starting", "version", version, "config", cfg.File())
	nofile := raiseNoFile(log)
	b := &box{log: log, path: path, cfg: cfg, users: newLocalUsers(cfg.Users)}
	// Deferred calls run last-in first-out: cancel the router before waiting
	// for it, so an early error return does not hang.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if cfg.RouterEnabled() {
		if err := cfg.CheckInterfaces(linkExists); err != nil {
			return err
		}
		b.router = router.New(router.Config{Ports: cfg.Ports(), DHCPServer: cfg.DHCPServer(), NAT: cfg.NATParams(), Logger: log})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.router.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("router stopped", "err", err)
				cancel()
			}
		}()
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				b.reload(ctx)
			}
		}
	}()

	if !cfg.PPTP.Enabled {
		log.Info("pptp disabled in config")
		if sock != "" {
			go control.Serve(ctx, sock, b.controlHandler(), log)
		}
		<-ctx.Done()
		return nil
	}
	acct, err := newAAA(cfg, b.users, log)
	if err != nil {
		return err
	}
	srv, ln, fixed, cleanup, err := startPPTP(ctx, cfg, acct, nofile, log)
	if err != nil {
		return err
	}
	defer cleanup()
	acct.start(ctx)
	if err := acct.serveDAE(ctx, srv); err != nil {
		return err
	}
	b.mu.Lock() // a SIGHUP reload may run already
	b.srv, b.rc = srv, acct.rc
	b.fixed = fixed
	b.mu.Unlock()

	ctlCtx, stopCtl := context.WithCancel(ctx)
	defer stopCtl()
	if sock != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := control.Serve(ctlCtx, sock, b.controlHandler(), log); err != nil {
				log.Error("control socket", "err", err)
			}
		}()
	}
	log.Info("pptp server ready", "listen", ln.Addr().String(), "local_ip", cfg.PPTP.LocalIP,
		"remote_ip", cfg.PPTP.RemoteIP, "tun", cfg.PPTP.Tun, "auth", cfg.PPTP.Auth, "mppe", cfg.PPTP.MPPE,
		"users", len(cfg.Users), "radius", len(cfg.Radius.Servers))
	err = srv.Serve(ctx, ln)
	stopCtl()
	cancel()
	acct.stop()
	st := srv.Stats()
	log.Info("boxd stopped", "gre_malformed", st.GREMalformed, "gre_unknown_call", st.GREUnknownCall,
		"gre_wrong_peer", st.GREWrongPeer, "gre_dropped", st.GREDropped, "tun_no_session", st.TUNNoSession,
		"ctrl_malformed", st.Control.Malformed, "ctrl_bad_magic", st.Control.BadMagic, "ctrl_unknown", st.Control.Unknown)
	return err
}

// reload re-reads the config file. Users, NAT, firewall and port forwards
// change at once; [pptp], [wan], [lan], [log] and [console] keep their
// running values until the next restart (config.ForReload), and the log
// names those sections, so the rules never describe ports that are not
// configured that way.
func (b *box) reload(ctx context.Context) {
	nc, err := config.Load(b.path)
	if err != nil {
		b.log.Error("reload refused: keeping the last good config", "err", err)
		return
	}
	b.mu.Lock()
	old := b.cfg
	b.mu.Unlock()
	eff, pending := nc.ForReload(old)
	if b.router != nil && eff.RouterEnabled() {
		if err := b.router.Reload(ctx, eff.NATParams()); err != nil {
			b.log.Error("reload refused: keeping the last good config", "err", err)
			return
		}
	}
	b.users.set(eff.Users)
	b.mu.Lock()
	fixed, srv := b.fixed, b.srv
	b.mu.Unlock()
	endStaleSessions(b.log, srv, eff, old.Users, eff.Users)
	if fixed != nil {
		fixed.update(eff.Users)
	}
	if len(pending) > 0 {
		b.log.Warn("reload: these sections changed and take effect at the next restart", "sections", strings.Join(pending, ","), "config", b.path)
	}
	b.mu.Lock()
	b.cfg = eff
	b.mu.Unlock()
	b.log.Info("reload done", "config", b.path, "users", len(eff.Users))
}

// localUsers is the [[user]] table, swapped whole on reload.
type localUsers struct{ p atomic.Pointer[aaa.Local] }

func newLocalUsers(us []config.User) *localUsers {
	l := &localUsers{}
	l.set(us)
	return l
}

func (l *localUsers) set(us []config.User) {
	users := make([]aaa.LocalUser, 0, len(us))
	for _, u := range us {
		users = append(users, aaa.LocalUser{Name: u.Name, Password: u.Password, IP: u.FixedAddr()})
	}
	l.p.Store(aaa.NewLocal(users))
}

func (l *localUsers) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	return l.p.Load().Authenticate(ctx, req)
}

// startPPTP opens the TUN device, routes the pool to it, opens the GRE socket
// and the TCP listener, and builds the server. nofile is the soft descriptor
// limit raiseNoFile left (0 if unknown): it bounds max_connections.
func startPPTP(ctx context.Context, cfg *config.Config, auth *aaaSetup, nofile uint64, log *slog.Logger) (*session.Server, net.Listener, *fixedRoutes, func(), error) {
	p := &cfg.PPTP
	ranges, err := ippool.ParseRanges(p.RemoteIP)
	if err != nil {
		return nil, nil, nil, nil, err // Validate has checked it
	}
	pool := ippool.New(ranges)
	fixed := &fixedRoutes{pool: pool, tun: p.Tun, log: log, have: map[netip.Prefix]bool{}}
	routes := append(ippool.Prefixes(ranges), fixed.want(cfg.Users)...)

	dev, err := tun.Open(p.Tun)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	local := p.LocalAddr()
	setup := []func() error{
		func() error { return netcfg.SetMTU(p.Tun, p.MTU) },
		func() error { return netcfg.AddAddr(p.Tun, netip.PrefixFrom(local, 32), netip.Addr{}) },
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
	for _, r := range routes {
		setup = append(setup, func() error { return netcfg.AddRoute(r, p.Tun) })
	}
	for _, f := range setup {
		if err := f(); err != nil {
			dev.Close()
			return nil, nil, nil, nil, fmt.Errorf("tun %s: %w", p.Tun, err)
		}
	}

	host, _, _ := net.SplitHostPort(p.Listen)
	greAddr := netip.IPv4Unspecified()
	if host != "" {
		if a, err := netip.ParseAddr(host); err == nil {
			greAddr = a
		}
	}
	// In router mode the listen address may be the WAN address that the
	// router is assigning right now (or a DHCP lease still to come): wait
	// for it rather than fail.
	var g gre.Conn
	err = waitAddr(ctx, log, p.Listen, func() (err error) { g, err = gre.ListenIPv4(greAddr); return err })
	if err != nil {
		dev.Close()
		return nil, nil, nil, nil, err
	}
	var ln net.Listener
	err = waitAddr(ctx, log, p.Listen, func() (err error) { ln, err = net.Listen("tcp4", p.Listen); return err })
	if err != nil {
		g.Close()
		dev.Close()
		return nil, nil, nil, nil, fmt.Errorf("pptp: %w", err)
	}

	protos := make([]ppp.AuthProto, 0, len(p.Auth))
	for _, s := range p.Auth {
		a, _ := ppp.ParseAuthProto(s)
		protos = append(protos, a)
	}
	single, err := session.ParseSingleSession(p.SingleSession)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var dns [2]netip.Addr
	copy(dns[:], p.DNSAddrs())
	srv := session.New(session.Config{
		Logger:           log,
		Name:             p.Name,
		LocalIP:          local,
		Pool:             pool,
		DNS:              dns,
		Auth:             protos,
		AuthRetries:      p.AuthRetries,
		Authenticator:    auth.auth,
		Accounting:       auth.acct,
		MPPE:             mppePolicy(p),
		MRU:              uint16(p.MTU),
		EchoInterval:     p.EchoInterval.Duration,
		EchoFailure:      p.EchoFailure,
		CtrlEchoInterval: p.CtrlEchoInterval.Duration,
		SingleSession:    single,
		MaxSessions:      p.MaxSessions,
		Guard:            authGuard(p),
		OnAddr:           framedRoutes(fixed, proxyARP(cfg, log)),

		// Limits against unauthenticated peers (issue 14; rlimit.go).
		MaxConns:           connCap(p.MaxConnections, nofile, log),
		MaxConnsPerSource:  p.MaxConnectionsPerSource,
		MaxCallsPerConn:    p.MaxCallsPerConnection,
		MaxUnauthPerSource: p.MaxUnauthenticatedPerSource,
		StartTimeout:       p.StartTimeout.Duration,
		LoginTimeout:       p.LoginTimeout.Duration,
	}, g, dev)
	for _, r := range fixed.want(cfg.Users) {
		fixed.have[r] = true
	}
	cleanup := func() {
		for _, r := range ippool.Prefixes(ranges) {
			_ = netcfg.DelRoute(r, p.Tun)
		}
		fixed.mu.Lock()
		defer fixed.mu.Unlock()
		for r := range fixed.have {
			_ = netcfg.DelRoute(r, p.Tun)
		}
	}
	return srv, ln, fixed, cleanup, nil
}

// fixedRoutes keeps a /32 route to the TUN for each user's fixed address
// outside the pool (the pool's ranges are routed whole).
type fixedRoutes struct {
	pool *ippool.Pool
	tun  string
	log  *slog.Logger
	mu   sync.Mutex
	have map[netip.Prefix]bool
}

func (f *fixedRoutes) want(users []config.User) []netip.Prefix {
	var out []netip.Prefix
	for _, u := range users {
		if a := u.FixedAddr(); a.IsValid() && !f.pool.Contains(a) {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	return out
}

// update makes the routes those of users (a reload): new fixed addresses
// are routed to the TUN, those of removed users are no longer.
func (f *fixedRoutes) update(users []config.User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[netip.Prefix]bool{}
	for _, r := range f.want(users) {
		want[r] = true
		if f.have[r] {
			continue
		}
		if err := netcfg.AddRoute(r, f.tun); err != nil {
			f.log.Error("reload: route for a fixed address", "route", r.String(), "tun", f.tun, "err", err)
			continue
		}
		f.have[r] = true
	}
	for r := range f.have {
		if want[r] {
			continue
		}
		if err := netcfg.DelRoute(r, f.tun); err != nil {
			f.log.Error("reload: removing the route of a fixed address", "route", r.String(), "tun", f.tun, "err", err)
			continue
		}
		delete(f.have, r)
	}
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

// mppePolicy maps pptp.mppe / mppe_stateful / mppe_prefer_stateful to the
// PPP layer's policy. mppe_stateful is pppd's mppe-stateful: stateful is
// accepted when the peer asks for it, stateless is still what we ask for.
// Asking for stateful is a separate choice because a pppd peer without
// mppe-stateful answers it by closing the link ("Refusing MPPE stateful
// mode offered by peer"), as qemu/e2e/stateful_test.go shows.
func mppePolicy(p *config.PPTP) ppp.MPPEPolicy {
	pol := ppp.MPPEPolicy{
		AllowStateful:  p.MPPEStateful || p.MPPEPreferStateful,
		PreferStateful: p.MPPEPreferStateful,
	}
	switch p.MPPE {
	case "require-128":
		pol.Required, pol.Bits128 = true, true
	case "require":
		pol.Required, pol.Bits40, pol.Bits56, pol.Bits128 = true, true, true, true
	case "allow":
		// Allowed makes the link negotiate CCP and ask for MPPE, taking
		// cleartext only when the peer refuses (docs/config.md); without
		// it the key lengths alone left CCP rejected and every "allow"
		// link unencrypted.
		pol.Allowed, pol.Bits40, pol.Bits56, pol.Bits128 = true, true, true, true
	}
	return pol
}

// boxStats is what `boxctl stats` prints: the session server's counters,
// and the RADIUS client's when [radius] is on.
type boxStats struct {
	session.StatsSnapshot
	Radius *radius.Stats `json:"radius,omitempty"`
	// Goroutines is boxd's goroutine count: with no session it returns to
	// the same figure, so a growing one is a leak (TestBoxdChurn).
	Goroutines int          `json:"goroutines"`
	DHCPD      *dhcpd.Stats `json:"dhcpd,omitempty"`
}

func (b *box) stats() boxStats {
	st := boxStats{StatsSnapshot: b.srv.Stats(), Goroutines: runtime.NumGoroutine()}
	if b.rc != nil {
		rs := b.rc.Stats()
		st.Radius = &rs
	}
	if b.router != nil {
		if ds, ok := b.router.DHCPStats(); ok {
			st.DHCPD = &ds
		}
	}
	return st
}

func (b *box) controlHandler() control.Handler {
	srv := b.srv
	return func(ctx context.Context, req control.Request) (any, error) {
		if srv == nil && req.Cmd != "ping" && req.Cmd != "reload" {
			return nil, errors.New("pptp server disabled")
		}
		switch req.Cmd {
		case "reload":
			b.reload(ctx)
			b.mu.Lock()
			defer b.mu.Unlock()
			return map[string]string{"config": b.cfg.File()}, nil
		case "sessions":
			return srv.Sessions(), nil
		case "stats":
			return b.stats(), nil
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
		return nil, fmt.Errorf("unknown command %q (sessions, stats, disconnect USER, reload, ping)", req.Cmd)
	}
}

// proxyARP answers ARP on the LAN for session addresses inside the LAN subnet
// (pppd's proxyarp), so LAN hosts reach VPN clients numbered from their own
// subnet without a route.
func proxyARP(cfg *config.Config, log *slog.Logger) func(netip.Addr, bool) {
	if !cfg.PPTP.ProxyARP || !cfg.RouterEnabled() || !cfg.LAN.Enabled {
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
