package session

import (
	"sync/atomic"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// Stats are the server's counters of traffic that did not reach a session:
// malformed or unexpected input is counted here and dropped, never fatal.
type Stats struct {
	GREMalformed   atomic.Uint64 // GRE header did not parse
	GREUnknownCall atomic.Uint64 // no session for the GRE key's call ID
	GREWrongPeer   atomic.Uint64 // call ID known, but from another source address
	GREDropped     atomic.Uint64 // dropped by the sequence window (old/duplicate)
	TUNNoSession   atomic.Uint64 // packet from TUN to an address with no session
	TUNMalformed   atomic.Uint64 // not an IPv4 packet (either direction)
	// PeerWrongSource counts IPv4 packets a peer sent from an address other
	// than the one IPCP gave it: dropped, so no client spoofs into the LAN.
	PeerWrongSource atomic.Uint64
	// Packets from TUN larger than the session's peer MRU (tooBig, send.go).
	TUNFragmented        atomic.Uint64 // DF clear: sent as fragments
	TUNFragmentsOut      atomic.Uint64 // the fragments they became
	TUNFragNeededSent    atomic.Uint64 // DF set: ICMP frag-needed written back to TUN
	TUNFragNeededLimited atomic.Uint64 // DF set: dropped, the ICMP rate limit held the reply
	TUNTooBigDropped     atomic.Uint64 // dropped: no reply allowed (RFC 1122 §3.2.2) or malformed
	SendErrors           atomic.Uint64 // GRE socket write failures
	TUNWriteErrors       atomic.Uint64 // TUN device write failures
	CallsRefused         atomic.Uint64 // Outgoing-Call-Requests refused (limits, shutdown)
	AuthFailures         atomic.Uint64 // sessions that ended in the authentication phase
	Auth                 authStats     // logins refused or slowed (authstats.go)
	Login                loginStats    // logins up and refused by reason (loginstats.go)

	// Work bounds of the receive path (issue 14 item 5, 11).
	// GREFarJump counts data packets more than gre.MaxSeqJump ahead of
	// their call's window: dropped (not in GREDropped).
	GREFarJump atomic.Uint64
	// MPPE counts the inbound packets the decrypters dropped to bound
	// their work (mppe.MaxJump, the per-session rekey budget).
	MPPE mppe.Counters
}

// StatsSnapshot is a copy of Stats for reports (control socket, logs).
type StatsSnapshot struct {
	Sessions       int    `json:"sessions"`
	Conns          int    `json:"control_connections"`
	PoolSize       int    `json:"pool_size"`
	PoolInUse      int    `json:"pool_in_use"` // addresses handed out
	GREMalformed   uint64 `json:"gre_malformed"`
	GREUnknownCall uint64 `json:"gre_unknown_call"`
	GREWrongPeer   uint64 `json:"gre_wrong_peer"`
	GREDropped     uint64 `json:"gre_dropped"`
	TUNNoSession   uint64 `json:"tun_no_session"`
	TUNMalformed   uint64 `json:"tun_malformed"`

	PeerWrongSource uint64 `json:"peer_wrong_source"`

	TUNFragmented        uint64 `json:"tun_fragmented"`
	TUNFragmentsOut      uint64 `json:"tun_fragments_out"`
	TUNFragNeededSent    uint64 `json:"tun_frag_needed_sent"`
	TUNFragNeededLimited uint64 `json:"tun_frag_needed_limited"`
	TUNTooBigDropped     uint64 `json:"tun_too_big_dropped"`

	SendErrors     uint64 `json:"send_errors"`
	TUNWriteErrors uint64 `json:"tun_write_errors"`
	CallsRefused   uint64 `json:"calls_refused"`
	AuthFailures   uint64 `json:"auth_failures"`

	GREFarJump       uint64 `json:"gre_far_jump"`
	MPPEFarJump      uint64 `json:"mppe_far_jump"`
	MPPERekeyLimited uint64 `json:"mppe_rekey_limited"`

	Control ControlCounters `json:"control"`
	Auth    AuthCounters    `json:"auth"`
	// Limits: what the limits against unauthenticated peers refused (limits.go).
	Limits LimitCounters `json:"limits"`
}

// ControlCounters are the PPTP control connections' counters (pptp.Counters).
type ControlCounters struct {
	BadMagic      uint64 `json:"bad_magic"`
	BadLength     uint64 `json:"bad_length"`
	Malformed     uint64 `json:"malformed"`
	Unknown       uint64 `json:"unknown"`
	Unexpected    uint64 `json:"unexpected"`
	BadCallID     uint64 `json:"bad_call_id"`
	StartTimeouts uint64 `json:"start_timeouts"`
	EchoTimeouts  uint64 `json:"echo_timeouts"`
	CallsOpened   uint64 `json:"calls_opened"`
	CallsRefused  uint64 `json:"calls_refused"`
}

func (s *Stats) snapshot() StatsSnapshot {
	return StatsSnapshot{
		GREMalformed:   s.GREMalformed.Load(),
		GREUnknownCall: s.GREUnknownCall.Load(),
		GREWrongPeer:   s.GREWrongPeer.Load(),
		GREDropped:     s.GREDropped.Load(),
		TUNNoSession:   s.TUNNoSession.Load(),
		TUNMalformed:   s.TUNMalformed.Load(),

		PeerWrongSource: s.PeerWrongSource.Load(),

		TUNFragmented:        s.TUNFragmented.Load(),
		TUNFragmentsOut:      s.TUNFragmentsOut.Load(),
		TUNFragNeededSent:    s.TUNFragNeededSent.Load(),
		TUNFragNeededLimited: s.TUNFragNeededLimited.Load(),
		TUNTooBigDropped:     s.TUNTooBigDropped.Load(),

		SendErrors:     s.SendErrors.Load(),
		TUNWriteErrors: s.TUNWriteErrors.Load(),
		CallsRefused:   s.CallsRefused.Load(),
		AuthFailures:   s.AuthFailures.Load(),
		Auth:           s.Auth.snapshot(),

		GREFarJump:       s.GREFarJump.Load(),
		MPPEFarJump:      s.MPPE.FarJumps.Load(),
		MPPERekeyLimited: s.MPPE.RekeyLimited.Load(),
	}
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() StatsSnapshot {
	snap := s.stats.snapshot()
	s.mu.RLock()
	c := &s.ctrlCounters
	snap.Control = ControlCounters{
		BadMagic: c.BadMagic.Load(), BadLength: c.BadLength.Load(), Malformed: c.Malformed.Load(),
		Unknown: c.Unknown.Load(), Unexpected: c.Unexpected.Load(), BadCallID: c.BadCallID.Load(),
		StartTimeouts: c.StartTimeouts.Load(), EchoTimeouts: c.EchoTimeouts.Load(),
		CallsOpened: c.CallsOpened.Load(), CallsRefused: c.CallsRefused.Load(),
	}
	s.guardLen(&snap.Auth)
	snap.Limits = s.limitCounters()
	snap.Sessions = len(s.calls)
	snap.Conns = len(s.conns)
	s.mu.RUnlock()
	if s.cfg.Pool != nil {
		snap.PoolSize, snap.PoolInUse = s.cfg.Pool.Size(), s.cfg.Pool.InUse()
	}
	return snap
}
