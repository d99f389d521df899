package ppp

// What a caller gives a Link and learns from it: Role, Config with its
// MPPEPolicy, the NetworkParams Config.Network returns, and the UpInfo
// OnUp reports.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// Role says which side of the authentication a link plays.
type Role int

const (
	// Server authenticates the peer and hands out addresses (pptpd's side).
	Server Role = iota
	// Client authenticates itself and accepts an address (pptp-linux's side).
	Client
)

func (r Role) String() string {
	switch r {
	case Server:
		return "server"
	case Client:
		return "client"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Config configures one Link. Send is required; the server role also needs
// Authenticator and Network.
type Config struct {
	Role   Role
	Logger *slog.Logger // nil: discard
	// Tracer, when set, gets the link's control packets and notes as an
	// operator's trace shows them (trace.go); nil for an untraced link.
	Tracer Tracer
	// Name is our CHAP name (e.g. "pptpbox"), sent in Challenge packets.
	Name string
	// MRU we ask the peer to respect; 0 means 1400.
	MRU uint16
	// Auth: server role, the protocols we allow in preference order
	// (empty: MS-CHAPv2 only); client role, the protocols we agree to use,
	// preferred first (empty: MS-CHAPv2, MS-CHAP, CHAP; PAP only if listed).
	Auth          []AuthProto
	Authenticator Authenticator
	// AuthRetries: how many times a peer may retry after a failed login
	// on the same link (pppd allows none).
	AuthRetries int
	// Username and Password are the client role's credentials.
	Username, Password string
	MPPE               MPPEPolicy
	// Network picks the addresses once the peer is authenticated (server
	// role), so that a RADIUS Framed-IP-Address can choose.
	Network func(ctx context.Context, user string, res *AuthResult) (NetworkParams, error)
	// Peer is the transport peer, passed on in AuthRequest.
	Peer netip.AddrPort
	// EchoInterval: LCP Echo-Request period once LCP is open (0: none).
	// EchoFailure unanswered requests take the link down (0 means 3).
	EchoInterval time.Duration
	EchoFailure  int
	// RestartTimeout is the RFC 1661 §4.6 restart timer (0: 3s).
	RestartTimeout time.Duration

	// Send transmits one PPP frame (protocol field and information, ACFC/PFC
	// applied as negotiated). It must not retain frame and may be called
	// from any goroutine. Control frames are sent with no lock held;
	// WriteIP calls it with the transmit lock held, so Send must not
	// synchronously call back into this Link (a GRE socket write never does).
	Send func(frame []byte)
	// SendAt, when set, is called instead of Send with the frame in
	// buf[off:] and buf[:off] free for the lower layer's headers: off is at
	// least Headroom, so a GRE header can be written in place and the frame
	// sent without a copy. The same rules as for Send apply; buf is not
	// retained.
	SendAt func(buf []byte, off int)
	// Headroom is how many bytes SendAt finds free in front of every frame
	// (PPTP: gre.MaxHeaderLen). WriteIPAt needs Headroom+DataHeadroom.
	Headroom int
	// OnUp reports the network phase open (IPCP opened, and CCP when MPPE is required).
	OnUp func(UpInfo)
	// OnDown reports the end of the link, exactly once.
	OnDown func(reason string)
	// OnIP receives one inbound IPv4 packet, decrypted; it must not retain pkt
	// (but see InputInPlace).
	OnIP func(pkt []byte)
	// InputInPlace lets Input decrypt an MPPE frame where it lies, in the
	// caller's buffer, instead of into the link's own: OnIP's pkt is then a
	// part of the frame passed to Input, and stays valid as long as the
	// caller keeps that buffer (so a receive loop may batch its TUN writes).
	InputInPlace bool
	// QuietUpDown logs "PPP link up" and "PPP link down" at Debug, not
	// Info: for a caller that logs each link's up and down itself with
	// these fields and more (pkg/session's "session up", "session down"),
	// so that a login costs no duplicate lines.
	QuietUpDown bool
	// MPPECounters, if set, counts the inbound MPPE packets the decrypter
	// dropped to bound its work (mppe.ErrFarJump, mppe.ErrRekeyLimit);
	// one Counters may serve many links.
	MPPECounters *mppe.Counters
	// Rand supplies challenges and magic numbers (crypto/rand when nil).
	Rand io.Reader
}

// MPPEPolicy says what the link accepts for Microsoft Point-to-Point
// Encryption (RFC 3078) negotiated over CCP. The zero value is "off".
type MPPEPolicy struct {
	// Required: the link comes up only with MPPE acknowledged in both
	// directions; otherwise it is terminated ("MPPE required but peer refused").
	Required bool
	// Allowed key lengths. If none is set and Required or Allowed is set,
	// 128-bit is assumed.
	Bits40, Bits56, Bits128 bool
	// AllowStateful accepts stateful (history) mode; stateless is always accepted.
	AllowStateful bool
	// PreferStateful asks for stateful mode first (needs AllowStateful).
	PreferStateful bool
	// Allowed negotiates MPPE when the peer agrees, without requiring it.
	Allowed bool
}

func (p MPPEPolicy) enabled() bool { return p.Required || p.Allowed }

// NetworkParams are the IPCP addresses of a server link (RFC 1332, RFC 1877).
type NetworkParams struct {
	LocalIP, PeerIP netip.Addr
	DNS             [2]netip.Addr // zero entries are not offered
}

// UpInfo describes a link whose network phase is open.
type UpInfo struct {
	User       string
	Auth       AuthProto
	Local      netip.Addr
	Peer       netip.Addr
	DNS        [2]netip.Addr
	MPPE       string // "MPPE 128-bit stateless", or "" when unencrypted
	PeerMRU    int    // the largest IP packet WriteIP accepts
	Result     *AuthResult
	Negotiated time.Duration // from Start to network up
}
