package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// aaaSetup is how logins are checked and sessions accounted: the local
// [[user]] table alone, or RADIUS ([radius]) with the table as a fallback
// when configured.
type aaaSetup struct {
	auth ppp.Authenticator
	acct aaa.Accounting // nil: no accounting
	rc   *radius.Client // nil without [radius]
	cfg  *config.Radius
	log  *slog.Logger
	// owns reports whether this setup's RADIUS client let the login of
	// res in (liveAAA routes the session's accounting to it); nil: none.
	owns func(res *ppp.AuthResult) bool
}

// spool is the accounting spool directory (-acct-spool, "" for none).
func newAAA(cfg *config.Config, users ppp.Authenticator, spool string, log *slog.Logger) (*aaaSetup, error) {
	if !cfg.RadiusEnabled() {
		return &aaaSetup{auth: users, log: log}, nil
	}
	r := &cfg.Radius
	servers := make([]radius.Server, 0, len(r.Servers))
	for _, s := range r.Servers {
		servers = append(servers, radius.Server{Auth: s.AuthAddr(), Acct: s.AcctAddr(), Secret: []byte(s.Secret)})
	}
	rc, err := radius.New(radius.Config{
		Servers:         servers,
		NASIdentifier:   r.NASIdentifier,
		NASIP:           r.NASAddr(),
		Source:          r.SourceAddr(),
		Timeout:         r.Timeout.Duration,
		Retries:         r.Retries,
		DeadTime:        r.DeadTime.Duration,
		InterimInterval: r.InterimInterval.Duration,
		AcctSpool:       spool,
		Logger:          log,
		// Issue 14: Access replies must carry a Message-Authenticator.
		AllowUnsignedReplies: !r.RequireMessageAuthenticator,
	})
	if err != nil {
		return nil, err
	}
	if !r.RequireMessageAuthenticator {
		log.Warn("radius: require_message_authenticator is off: Access replies without a Message-Authenticator are believed (Blast-RADIUS, CVE-2024-3596)")
	}
	a := &aaaSetup{auth: rc, rc: rc, cfg: r, log: log, owns: func(res *ppp.AuthResult) bool { return res != nil && rc.SessionID(res) != "" }}
	if r.FallbackLocal {
		a.auth = aaa.Fallback{Primary: rc, Secondary: users, Logger: log}
	}
	if r.Accounting {
		a.acct = rc
	}
	return a, nil
}

// start queues what the last run left in the accounting spool (its
// Starts and Stops, sent with their delay), then sends Accounting-On (RFC
// 2866 §5.1) in the background: the box serves logins meanwhile. Only
// the setup boxd starts with calls it; a reload's new setup shares the
// spool with the one it replaces, which goes on sending its own records.
func (a *aaaSetup) start(ctx context.Context) {
	if a.acct == nil {
		return
	}
	if _, err := a.rc.LoadSpool(); err != nil {
		a.log.Error("radius accounting spool", "err", err)
	}
	go func() {
		if err := a.rc.AccountingOn(ctx, true); err != nil {
			a.log.Warn("radius accounting-on not answered", "err", err)
		}
	}()
}

// drain waits (bounded) for the accounting records a replaced setup still
// sends; its servers get no Accounting-Off (they may be the new ones too).
func (a *aaaSetup) drain() {
	if a.rc == nil || a.acct == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.rc.Close(ctx); err != nil {
		a.log.Warn("radius accounting of a replaced server list", "err", err)
	}
}

// stop waits (bounded) for the sessions' Stop records, then sends
// Accounting-Off: the clean-stop counterpart of start.
func (a *aaaSetup) stop() {
	if a.rc == nil {
		return
	}
	defer func() {
		st := a.rc.Stats()
		a.log.Info("radius stopped", "requests", st.Requests, "timeouts", st.Timeouts, "bad_replies", st.BadReplies,
			"accepts", st.Accepts, "rejects", st.Rejects, "unreachable", st.Unreachable,
			"acct_answered", st.AcctSent, "acct_lost", st.AcctLost,
			"unsigned_replies", st.UnsignedReplies, "bad_message_authenticator", st.BadMsgAuth,
			"dae_acks", st.DAEACKs, "dae_naks", st.DAENAKs, "dae_dropped", st.DAEDropped, "dae_stale", st.DAEStale)
	}()
	if a.acct == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.rc.Close(ctx); err != nil {
		a.log.Warn("radius accounting", "err", err)
	}
	if err := a.rc.AccountingOn(ctx, false); err != nil {
		a.log.Warn("radius accounting-off not answered", "err", err)
	}
}

// serveDAE takes RFC 5176 Disconnect-Requests on [radius] dae_listen from
// the configured servers' addresses (each with its own secret) until ctx
// ends. Without dae_listen it does nothing.
func (a *aaaSetup) serveDAE(ctx context.Context, srv *session.Server) error {
	if a.rc == nil || a.cfg.DAEListen == "" {
		return nil
	}
	clients := map[netip.Addr][]byte{}
	for _, s := range a.cfg.Servers {
		host, _, _ := net.SplitHostPort(s.AuthAddr())
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		if err != nil {
			a.log.Warn("dae: cannot resolve a radius server; its requests will be dropped", "server", host, "err", err)
			continue
		}
		for _, ip := range addrs {
			if _, dup := clients[ip.Unmap()]; !dup {
				clients[ip.Unmap()] = []byte(s.Secret)
			}
		}
	}
	pc, err := net.ListenPacket("udp4", a.cfg.DAEListen)
	if err != nil {
		return fmt.Errorf("radius: dae_listen: %w", err)
	}
	const reason = "disconnected by RADIUS Disconnect-Request"
	d := a.rc.NewDAE(radius.DAEConfig{
		Clients:    clients,
		HangupCall: func(id uint16) bool { return srv.DisconnectCall(id, reason) },
		HangupUser: func(user string) int { return srv.Disconnect(user, reason) },
		ChangeCall: func(id uint16, c radius.Change) bool { return srv.ChangeCall(id, sessionChange(c)) },
		ChangeUser: func(user string, c radius.Change) int { return srv.ChangeUser(user, sessionChange(c)) },
		Logger:     a.log,
		// Issue 14: replayed requests (RFC 5176 §6.3); "0s" checks none.
		EventWindow:           cmp.Or(a.cfg.DAEEventWindow.Duration, -1),
		RequireEventTimestamp: a.cfg.DAERequireEventTimestamp,
	})
	go func() {
		if err := d.Serve(ctx, pc); err != nil {
			a.log.Error("dae listener stopped", "err", err)
		}
	}()
	a.log.Info("radius dynamic authorization listening", "listen", pc.LocalAddr().String(), "clients", len(clients))
	return nil
}

// sessionChange is a RADIUS CoA's change as the session server takes it.
func sessionChange(c radius.Change) session.Change {
	return session.Change{RateLimit: c.RateLimit, SessionTimeout: c.SessionTimeout}
}
