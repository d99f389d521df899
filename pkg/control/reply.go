package control

import "time"

// The replies of the commands boxd serves, as clients decode them. boxd maps
// its own types onto these (cmd/boxd/control.go), so a CLI or a test rig
// reads the socket without importing the session layer. The JSON names are
// the wire format: boxctl -json, the QEMU tests and scripts read them.

// Session is one live session in the reply to "sessions".
type Session struct {
	User     string        `json:"user"`
	Peer     string        `json:"peer"` // the client's address
	IP       string        `json:"ip"`   // the address IPCP gave it ("" before)
	CallID   uint16        `json:"call_id"`
	PeerCall uint16        `json:"peer_call_id"`
	MPPE     string        `json:"mppe"` // "MPPE 128-bit stateless" or ""
	Uptime   time.Duration `json:"uptime_ns"`
	BytesIn  uint64        `json:"bytes_in"`
	BytesOut uint64        `json:"bytes_out"`
	PktsIn   uint64        `json:"packets_in"`
	PktsOut  uint64        `json:"packets_out"`

	// Added for show sessions (issue 9): the client's TCP source port
	// (Peer:PeerPort), the link's phase ("establish", "authenticate",
	// "network", "terminate"), the authentication protocol ("mschapv2")
	// and who checked it ("radius", "local"; "" before the login), and the
	// RADIUS Acct-Session-Id when accounting knows one.
	PeerPort      uint16 `json:"peer_port,omitempty"`
	State         string `json:"state,omitempty"`
	Auth          string `json:"auth,omitempty"`
	AuthSource    string `json:"auth_source,omitempty"`
	AcctSessionID string `json:"acct_session_id,omitempty"`

	// The rate limit in force (issue 11), Mikrotik-Rate-Limit syntax
	// ("rx/tx" bits/s: "512k/2M"), "" none; the packets it dropped from
	// the client (in) and to it (out).
	RateLimit  string `json:"rate_limit,omitempty"`
	LimitedIn  uint64 `json:"limited_in,omitempty"`
	LimitedOut uint64 `json:"limited_out,omitempty"`

	// Routes are the subnets routed through the session ([[user]] routes,
	// RADIUS Framed-Route), "10.10.0.0/24"; none when empty.
	Routes []string `json:"routes,omitempty"`
}

// Stats is the session server's part of the reply to "stats": traffic that
// reached no session, and what the limits and the login guard refused.
// boxd adds "radius", "dhcpd" and "goroutines" beside these fields.
type Stats struct {
	Sessions       int    `json:"sessions"`
	Conns          int    `json:"control_connections"`
	PoolSize       int    `json:"pool_size"`
	PoolInUse      int    `json:"pool_in_use"` // addresses handed out
	GREMalformed   uint64 `json:"gre_malformed"`
	GREUnknownCall uint64 `json:"gre_unknown_call"`
	GREWrongPeer   uint64 `json:"gre_wrong_peer"`
	GREDropped     uint64 `json:"gre_dropped"` // old or duplicate
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
	Limits  LimitCounters   `json:"limits"`
}

// ControlCounters are the PPTP control connections' counters.
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

// AuthCounters are the logins refused or slowed: the single-session policy
// and the password-guessing guard, with the sizes of the guard's tables.
type AuthCounters struct {
	SingleSessionDenied uint64 `json:"single_session_denied"`
	ReauthRefused       uint64 `json:"reauth_refused"`
	DelayedFailures     uint64 `json:"guard_delayed_failures"`
	BlockedLogins       uint64 `json:"guard_blocked_logins"`
	RefusedCalls        uint64 `json:"guard_refused_calls"`
	GuardSources        int    `json:"guard_sources"`
	GuardUsers          int    `json:"guard_users"`
	GuardPairs          int    `json:"guard_pairs"`
}

// LimitCounters are what the limits against unauthenticated peers refused.
type LimitCounters struct {
	ConnsRefusedGlobal    uint64 `json:"conns_refused_global"`     // max_connections
	ConnsRefusedPerSource uint64 `json:"conns_refused_per_source"` // max_connections_per_source
	AcceptErrors          uint64 `json:"accept_errors"`            // EMFILE, ENFILE, ... (retried)
	CallsRefusedPerConn   uint64 `json:"calls_refused_per_conn"`   // max_calls_per_connection
	CallsRefusedUnauth    uint64 `json:"calls_refused_unauth"`     // max_unauthenticated_per_source
	LoginTimeouts         uint64 `json:"login_timeouts"`           // login_timeout
	ConnsOpen             int    `json:"conns_open"`
	MaxConns              int    `json:"max_conns"` // 0: none
}
