package main

import (
	"context"
	"log/slog"
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
	acct session.Accounting // nil: no accounting
	rc   *radius.Client     // nil without [radius]
	log  *slog.Logger
}

func newAAA(cfg *config.Config, users ppp.Authenticator, log *slog.Logger) (*aaaSetup, error) {
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
		Timeout:         r.Timeout.Duration,
		Retries:         r.Retries,
		DeadTime:        r.DeadTime.Duration,
		InterimInterval: r.InterimInterval.Duration,
		Logger:          log,
	})
	if err != nil {
		return nil, err
	}
	a := &aaaSetup{auth: rc, rc: rc, log: log}
	if r.FallbackLocal {
		a.auth = aaa.Fallback{Primary: rc, Secondary: users, Logger: log}
	}
	if r.Accounting {
		a.acct = rc
	}
	return a, nil
}

// start sends Accounting-On (RFC 2866 §5.1) in the background: the box
// serves logins meanwhile.
func (a *aaaSetup) start(ctx context.Context) {
	if a.acct == nil {
		return
	}
	go func() {
		if err := a.rc.AccountingOn(ctx, true); err != nil {
			a.log.Warn("radius accounting-on not answered", "err", err)
		}
	}()
}

// stop waits (bounded) for the sessions' Stop records, then sends
// Accounting-Off: the clean-stop counterpart of start.
func (a *aaaSetup) stop() {
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
