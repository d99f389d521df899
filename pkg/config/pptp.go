package config

import (
	"net/netip"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/authguard"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/ratelimit"
)

// PPTPParams is [pptp] in the types the PPTP server runs on. Validate
// parses each key once and keeps the result here, so that no caller reads
// a string again: a value means what validation said it means (the
// mppe = "allow" bug lived in a second reading of pptp.mppe).
type PPTPParams struct {
	// Listen is the control listener's host:port (TCP 1723), ListenPort
	// its port. ListenIP is its host, the GRE socket's address: the IPv4
	// unspecified address when listen names none (":1723") or names a
	// host, not an address.
	Listen     string
	ListenPort int
	ListenIP   netip.Addr

	LocalIP netip.Addr     // our end of every tunnel (pptpd localip)
	Pool    []ippool.Range // remote_ip, for ippool.New
	DNS     [2]netip.Addr  // pppd ms-dns; zero entries are not offered
	Tun     string         // the TUN device carrying the pool
	MTU     int            // TUN MTU and the MRU we ask peers for
	// ProxyARP answers ARP on the LAN for session addresses inside the
	// LAN subnet (pppd proxyarp; boxd does it only with a [lan]).
	ProxyARP bool

	Name        string          // our CHAP name
	Auth        []ppp.AuthProto // allowed, in the file's order of preference
	AuthRetries int
	MPPE        ppp.MPPEPolicy // mppe, mppe_stateful, mppe_prefer_stateful
	// Guard is the password-guessing backoff (auth_fail_*); Limit 0: off.
	Guard authguard.Config

	EchoInterval     time.Duration // LCP keepalive
	EchoFailure      int
	CtrlEchoInterval time.Duration // PPTP control-connection keepalive
	SingleSession    aaa.SingleSession
	MaxSessions      int // 0: the pool size

	// Limits against unauthenticated peers (issue 14), as the session
	// server takes them; boxd lowers MaxConns to its descriptor limit.
	MaxConns, MaxConnsPerSource, MaxCallsPerConn, MaxUnauthPerSource int
	StartTimeout, LoginTimeout                                       time.Duration

	// RateLimit is rate_limit: the sessions' limit when neither RADIUS
	// nor their [[user]] sets one; the zero Limit is none.
	RateLimit ratelimit.Limit
}

// PPTPParams is [pptp] parsed (valid after Validate; Default's are set).
func (c *Config) PPTPParams() PPTPParams { return c.PPTP.params }

// LocalAddr is pptp.local_ip parsed (valid after Validate).
func (p *PPTP) LocalAddr() netip.Addr { return p.params.LocalIP }

// DNSAddrs is pptp.dns parsed (valid after Validate).
func (p *PPTP) DNSAddrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range p.params.DNS {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// setPlainParams copies the keys TOML has already typed into prm.
func (p *PPTP) setPlainParams(prm *PPTPParams) {
	prm.Tun, prm.MTU, prm.ProxyARP = p.Tun, p.MTU, p.ProxyARP
	prm.Name, prm.AuthRetries = p.Name, p.AuthRetries
	prm.EchoInterval, prm.EchoFailure = p.EchoInterval.Duration, p.EchoFailure
	prm.CtrlEchoInterval, prm.MaxSessions = p.CtrlEchoInterval.Duration, p.MaxSessions
	prm.MaxConns, prm.MaxConnsPerSource = p.MaxConnections, p.MaxConnectionsPerSource
	prm.MaxCallsPerConn, prm.MaxUnauthPerSource = p.MaxCallsPerConnection, p.MaxUnauthenticatedPerSource
	prm.StartTimeout, prm.LoginTimeout = p.StartTimeout.Duration, p.LoginTimeout.Duration
	g := p.AuthGuard
	prm.Guard = authguard.Config{
		Limit:       g.AuthFailLimit,
		SourceLimit: g.AuthFailSourceLimit,
		Window:      g.AuthFailWindow.Duration,
		Delay:       g.AuthFailDelay.Duration,
		MaxDelay:    g.AuthFailMaxDelay.Duration,
	}
}
