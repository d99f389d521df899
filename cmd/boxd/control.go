package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// boxStats is what `boxctl stats` prints: the session server's counters,
// and the RADIUS client's when [radius] is on.
type boxStats struct {
	control.Stats
	Radius *radius.Stats `json:"radius,omitempty"`
	// Goroutines is boxd's goroutine count: with no session it returns to
	// the same figure, so a growing one is a leak (TestBoxdChurn).
	Goroutines int          `json:"goroutines"`
	DHCPD      *dhcpd.Stats `json:"dhcpd,omitempty"`
}

func (b *box) stats() boxStats {
	st := boxStats{Stats: controlStats(b.srv.Stats()), Goroutines: runtime.NumGoroutine()}
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

// controlHandler serves the commands of control.Commands: the socket's
// protocol until boxd serves control.API (control.NewHandler(boxAPI{b})).
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
			return boxAPI{b}.Sessions(ctx)
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
		return nil, fmt.Errorf("unknown command %q (%s)", req.Cmd, control.CommandList())
	}
}

// controlStats maps the session server's counters onto the control
// socket's reply (control_test.go checks that no field is left out).
func controlStats(s session.StatsSnapshot) control.Stats {
	c, a, l := s.Control, s.Auth, s.Limits
	return control.Stats{
		Sessions:       s.Sessions,
		Conns:          s.Conns,
		PoolSize:       s.PoolSize,
		PoolInUse:      s.PoolInUse,
		GREMalformed:   s.GREMalformed,
		GREUnknownCall: s.GREUnknownCall,
		GREWrongPeer:   s.GREWrongPeer,
		GREDropped:     s.GREDropped,
		TUNNoSession:   s.TUNNoSession,
		TUNMalformed:   s.TUNMalformed,

		PeerWrongSource: s.PeerWrongSource,

		TUNFragmented:        s.TUNFragmented,
		TUNFragmentsOut:      s.TUNFragmentsOut,
		TUNFragNeededSent:    s.TUNFragNeededSent,
		TUNFragNeededLimited: s.TUNFragNeededLimited,
		TUNTooBigDropped:     s.TUNTooBigDropped,

		SendErrors:     s.SendErrors,
		TUNWriteErrors: s.TUNWriteErrors,
		CallsRefused:   s.CallsRefused,
		AuthFailures:   s.AuthFailures,

		GREFarJump:       s.GREFarJump,
		MPPEFarJump:      s.MPPEFarJump,
		MPPERekeyLimited: s.MPPERekeyLimited,

		Control: control.ControlCounters{
			BadMagic:      c.BadMagic,
			BadLength:     c.BadLength,
			Malformed:     c.Malformed,
			Unknown:       c.Unknown,
			Unexpected:    c.Unexpected,
			BadCallID:     c.BadCallID,
			StartTimeouts: c.StartTimeouts,
			EchoTimeouts:  c.EchoTimeouts,
			CallsOpened:   c.CallsOpened,
			CallsRefused:  c.CallsRefused,
		},
		Auth: control.AuthCounters{
			SingleSessionDenied: a.SingleSessionDenied,
			ReauthRefused:       a.ReauthRefused,
			DelayedFailures:     a.DelayedFailures,
			BlockedLogins:       a.BlockedLogins,
			RefusedCalls:        a.RefusedCalls,
			GuardSources:        a.GuardSources,
			GuardUsers:          a.GuardUsers,
			GuardPairs:          a.GuardPairs,
		},
		Limits: control.LimitCounters{
			ConnsRefusedGlobal:    l.ConnsRefusedGlobal,
			ConnsRefusedPerSource: l.ConnsRefusedPerSource,
			AcceptErrors:          l.AcceptErrors,
			CallsRefusedPerConn:   l.CallsRefusedPerConn,
			CallsRefusedUnauth:    l.CallsRefusedUnauth,
			LoginTimeouts:         l.LoginTimeouts,
			ConnsOpen:             l.ConnsOpen,
			MaxConns:              l.MaxConns,
		},
	}
}
