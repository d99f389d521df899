package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/clock"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/confstore"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dialout"
	"github.com/pptpbox/pptpbox/pkg/logring"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/remotelog"
	"github.com/pptpbox/pptpbox/pkg/router"
	"github.com/pptpbox/pptpbox/pkg/session"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// box is the running daemon: what a reload may change lives here.
type box struct {
	log    *slog.Logger
	path   string // the -config file
	users  *localUsers
	router *router.Router // nil when the config has no router sections
	srv    *session.Server
	rc     *radius.Client // nil without [radius]; a reload may swap it (b.mu)
	logs   *logring.Ring  // boxd's recent log lines (show log)
	sys    sysInfo        // for show system
	clock  *clock.Syncer  // the SNTP client; nil when [time] is off
	// clockServers are [time] servers as started (a reload changes them
	// at the next restart).
	clockServers []string
	syslog       *remotelog.Writer // [log] syslog; nil: none
	// aaa checks logins and accounts sessions; a reload that changes
	// [radius] swaps the RADIUS client behind it. Nil until the PPTP
	// server has started (b.mu).
	aaa *liveAAA
	// conf is the candidate config and the commits (api_config.go); every
	// change of the running config, a SIGHUP reload included, goes
	// through it and applies with b.apply.
	conf *confstore.Manager

	mu  sync.Mutex
	cfg *config.Config // the last good config
	// tun routes users' fixed addresses outside the pool to the TUN; a
	// reload adds and removes them with the users. Nil until the PPTP
	// server has started.
	tun *tunNet
	// dialouts are the [[pptp.dial]] dial-outs, set once at start.
	dialouts []*dialout.Dialer
}

// boxFiles are the config files boxd runs with: the -config file and its
// text as loaded, and the store commits go to (-config-store).
type boxFiles struct {
	path  string
	text  string
	store confstore.Store
}

// newBox makes the daemon's state for cfg; serveBox runs it.
func newBox(cfg *config.Config, files boxFiles, sys sysInfo, stderr io.Writer) *box {
	logs := logring.New(logLines)
	h, syslog := withSyslog(newLogger(logring.Tee(logs, stderr), cfg.Log.Level).Handler(), cfg, stderr)
	log := slog.New(h)
	sys.started = time.Now()
	b := &box{log: log, path: files.path, cfg: cfg, users: newLocalUsers(cfg.Users), logs: logs, sys: sys,
		clock: newClock(cfg, sys, log), clockServers: cfg.Time.Servers, syslog: syslog}
	b.conf = confstore.New(confstore.Options{
		Store: files.store,
		Apply: b.apply,
		OnBox: func(c *config.Config) error {
			if !c.RouterEnabled() {
				return nil
			}
			// A port the running config already names may be absent (its
			// card missing): a change that keeps it is not refused for
			// that, or a degraded box could take no edit at all. A new
			// name must exist.
			b.mu.Lock()
			running := configInterfaces(b.cfg)
			b.mu.Unlock()
			return c.CheckInterfaces(func(n string) bool { return linkExists(n) || slices.Contains(running, n) })
		},
		Log: log,
	}, files.text)
	return b
}

// serve runs the box until ctx ends. SIGHUP reloads the config file: a file
// that fails validation is refused with its file:line:key error and the box
// keeps running on its last good config.
func serve(ctx context.Context, cfg *config.Config, files boxFiles, sock string, sys sysInfo, stderr io.Writer) error {
	return newBox(cfg, files, sys, stderr).serve(ctx, sock)
}

func (b *box) serve(ctx context.Context, sock string) error {
	cfg, log := b.cfg, b.log
	log.Info("boxd starting", "version", version, "config", cfg.File(), "config_store", b.conf.StorePath())
	if b.syslog != nil {
		defer b.syslog.Close()
		log.Info("remote syslog", "server", b.syslog.Addr())
	}
	nofile := raiseNoFile(log)
	// Deferred calls run last-in first-out: cancel the router before waiting
	// for it, so an early error return does not hang.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if cfg.RouterEnabled() {
		// An interface the config names that is absent (a card missing, a
		// USB NIC unplugged) is not fatal: the router serves on the ports
		// there are, says which are missing (show system, ping), and brings
		// the others up when they appear.
		if err := cfg.CheckInterfaces(linkExists); err != nil {
			log.Warn("ports missing: serving without them until they appear", "err", err)
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

	ds, err := startDialOuts(ctx, cfg.Dials(), log, &wg)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.dialouts = ds
	b.mu.Unlock()

	b.runClock(ctx, &wg)
	stopHUP := b.reloadOnHUP(ctx)
	defer stopHUP()
	b.serveMetrics(ctx, cfg, &wg)
	b.serveUpgrade(ctx, cfg, &wg)

	if !cfg.PPTP.Enabled {
		log.Info("pptp disabled in config")
		if sock != "" {
			go control.Serve(ctx, sock, control.NewHandler(boxAPI{b}), log)
		}
		<-ctx.Done()
		return nil
	}
	ps, err := startPPTP(ctx, cfg, b.users, nofile, b.sys.acctSpool, log)
	if err != nil {
		return err
	}
	defer ps.tun.delRoutes()
	b.mu.Lock() // a SIGHUP reload may run already
	b.srv, b.rc = ps.srv, ps.acct.current().rc
	b.tun = ps.tun
	b.aaa = ps.acct
	b.mu.Unlock()

	ctlCtx, stopCtl := context.WithCancel(ctx)
	defer stopCtl()
	if sock != "" {
		// Listening before the ready line: whoever reads it (the init,
		// boxctl, tests) can connect at once.
		ln, err := control.Listen(sock)
		if err != nil {
			log.Error("control socket", "err", err)
		} else {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := control.ServeListener(ctlCtx, ln, sock, control.NewHandler(boxAPI{b}), log); err != nil {
					log.Error("control socket", "err", err)
				}
			}()
		}
	}
	log.Info("pptp server ready", "listen", ps.ln.Addr().String(), "local_ip", cfg.PPTP.LocalIP,
		"remote_ip", cfg.PPTP.RemoteIP, "tun", cfg.PPTP.Tun, "auth", cfg.PPTP.Auth, "mppe", cfg.PPTP.MPPE,
		"users", len(cfg.Users), "radius", len(cfg.Radius.Servers))
	err = ps.srv.Serve(ctx, ps.ln)
	stopCtl()
	cancel()
	ps.acct.stop()
	logStopped(log, ps.srv.Stats())
	return err
}

// reloadOnHUP reloads the config file on each SIGHUP until ctx ends or
// stop is called.
func (b *box) reloadOnHUP(ctx context.Context) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
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
	return func() { signal.Stop(hup) }
}

// reload re-reads the config file (SIGHUP, the legacy reload command): a
// file that fails validation is refused with its file:line: key errors
// and the box keeps its last good config.
func (b *box) reload(ctx context.Context) (control.ReloadResult, error) {
	res, err := b.conf.Reload(ctx)
	if err != nil {
		b.log.Error("reload refused: keeping the last good config", "err", err)
		return res, err
	}
	b.log.Info("reload done", "config", res.Config, "applied", strings.Join(res.Applied, ","))
	return res, nil
}

// apply makes nc the running config (a reload, a commit, a rollback).
// Users, NAT, firewall and port forwards change at once; [pptp], [wan],
// [lan], [log], [console] and [radius] keep their running values until the
// next restart (config.ForReload) and come back in Restart, so the rules
// never describe ports that are not configured that way. A user removed,
// or whose password or fixed address changed, loses their sessions
// (Admin-Reset); nobody else's session is touched.
func (b *box) apply(ctx context.Context, nc *config.Config) (control.CommitResult, error) {
	b.mu.Lock()
	old := b.cfg
	b.mu.Unlock()
	eff, pending := nc.ForReload(old)
	b.mu.Lock()
	live := b.aaa
	b.mu.Unlock()
	var setup *aaaSetup // a new RADIUS client, made before anything changes
	if live != nil && !reflect.DeepEqual(old.Radius, eff.Radius) {
		s, err := newAAA(eff, b.users, b.sys.acctSpool, b.log)
		if err != nil {
			return control.CommitResult{}, err
		}
		setup = s
	}
	if b.router != nil && eff.RouterEnabled() {
		if err := b.router.Reload(ctx, eff.NATParams()); err != nil {
			return control.CommitResult{}, err
		}
	}
	b.users.set(eff.Users)
	if setup != nil {
		live.swap(setup)
		b.mu.Lock()
		b.rc = setup.rc
		b.mu.Unlock()
		b.log.Info("radius: new logins use the new [radius]; running sessions keep their accounting", "servers", len(eff.Radius.Servers))
	}
	b.mu.Lock()
	tn, srv := b.tun, b.srv
	b.mu.Unlock()
	ended := endStaleSessions(b.log, srv, eff, old.Users, eff.Users)
	if tn != nil {
		tn.setUsers(eff.Users)
	}
	if len(pending) > 0 {
		b.log.Warn("reload: these sections changed and take effect at the next restart", "sections", strings.Join(pending, ","), "config", b.path)
	}
	b.mu.Lock()
	b.cfg = eff
	b.mu.Unlock()
	b.log.Info("config applied", "config", nc.File(), "users", len(eff.Users), "ended", len(ended))
	return control.CommitResult{Applied: liveChanges(old, eff), Restart: pending, Ended: endedSessions(ended)}, nil
}

// liveChanges names the sections that differ between old and eff (what a
// reload applied at once).
func liveChanges(old, eff *config.Config) []string {
	var out []string
	for _, c := range []struct {
		name string
		a, b any
	}{
		{"user", old.Users, eff.Users},
		{"nat", old.NAT, eff.NAT},
		{"firewall", old.Firewall, eff.Firewall},
		{"port_forward", old.PortForwards, eff.PortForwards},
		{"radius", old.Radius, eff.Radius},
	} {
		if !reflect.DeepEqual(c.a, c.b) {
			out = append(out, c.name)
		}
	}
	return out
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
		users = append(users, aaa.LocalUser{Name: u.Name, Password: u.Password, IP: u.FixedAddr(), RateLimit: u.RateLimit, Routes: u.Routes})
	}
	l.p.Store(aaa.NewLocal(users))
}

func (l *localUsers) Authenticate(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
	return l.p.Load().Authenticate(ctx, req)
}
