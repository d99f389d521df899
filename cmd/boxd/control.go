package main

import (
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/session"
)

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
