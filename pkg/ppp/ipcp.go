package ppp

import (
	"fmt"
	"net/netip"
)

// IPCP configuration option types (RFC 1332 §3, RFC 1877 §1).
const (
	ipcpAddresses   = 1 // deprecated IP-Addresses (RFC 1172), always rejected
	ipcpCompression = 2 // Van Jacobson compression, rejected (PPTP peers do fine without)
	ipcpAddress     = 3
	ipcpDNS1        = 129
	ipcpNBNS1       = 130
	ipcpDNS2        = 131
	ipcpNBNS2       = 132
)

// ipcpLayer is IPCP (RFC 1332, RFC 1877) on the shared automaton.
//
// Server: we send our address; the peer's address is Nak-ed to the one
// Config.Network assigned; DNS requests are Nak-ed to the configured
// servers or rejected when there are none.
// Client: we ask for 0.0.0.0 and DNS 0.0.0.0 and take what the Naks say.
type ipcpLayer struct {
	l *Link

	local, peer netip.Addr // server: assigned; client: learned
	dns         [2]netip.Addr
	sendAddr    bool
	askDNS      [2]bool
	configured  bool
}

// setParams gives a server link its addresses (from Config.Network).
func (c *ipcpLayer) setParams(np NetworkParams) {
	c.local, c.peer, c.dns = np.LocalIP, np.PeerIP, np.DNS
	c.sendAddr = true
	c.configured = true
}

// setClient prepares a client link's request.
func (c *ipcpLayer) setClient() {
	c.local = netip.IPv4Unspecified()
	c.sendAddr = true
	c.askDNS = [2]bool{true, true}
	c.configured = true
}

func addrOption(t uint8, a netip.Addr) Option {
	if !a.Is4() {
		a = netip.IPv4Unspecified()
	}
	b := a.As4()
	return Option{t, b[:]}
}

func optAddr(v []byte) (netip.Addr, bool) {
	if len(v) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(v)), true
}

// dnsIndex maps the RFC 1877 DNS option types to DNS[0] and DNS[1].
func dnsIndex(t uint8) int {
	if t == ipcpDNS1 {
		return 0
	}
	return 1
}

func (c *ipcpLayer) request() []Option {
	var opts []Option
	if c.sendAddr {
		opts = append(opts, addrOption(ipcpAddress, c.local))
	}
	for i, t := range [2]uint8{ipcpDNS1, ipcpDNS2} {
		if c.askDNS[i] {
			opts = append(opts, addrOption(t, c.dns[i]))
		}
	}
	return opts
}

func (c *ipcpLayer) check(opts []Option) (nak, rej []Option) {
	if c.l.cfg.Role == Client {
		return c.checkClient(opts)
	}
	sawAddr := false
	for _, o := range opts {
		switch o.Type {
		case ipcpAddress:
			a, ok := optAddr(o.Value)
			if !ok {
				rej = append(rej, o)
				continue
			}
			sawAddr = true
			if a != c.peer {
				// RFC 1332 §3.3: Nak with the address the peer should use.
				nak = append(nak, addrOption(ipcpAddress, c.peer))
			}
		case ipcpDNS1, ipcpDNS2:
			want := c.dns[dnsIndex(o.Type)]
			a, ok := optAddr(o.Value)
			if !ok || !want.Is4() || want.IsUnspecified() {
				// RFC 1877 §1: no server to offer, reject the option.
				rej = append(rej, o)
				continue
			}
			if a != want {
				nak = append(nak, addrOption(o.Type, want))
			}
		default:
			// IP-Addresses, VJ compression, NBNS and anything unknown.
			rej = append(rej, o)
		}
	}
	if !sawAddr && c.peer.IsValid() {
		// The peer did not ask for an address; suggest it (RFC 1661 §5.3
		// allows Nak-ing options the request did not carry).
		nak = append(nak, addrOption(ipcpAddress, c.peer))
	}
	return nak, rej
}

func (c *ipcpLayer) checkClient(opts []Option) (nak, rej []Option) {
	for _, o := range opts {
		a, ok := optAddr(o.Value)
		if o.Type == ipcpAddress && ok && !a.IsUnspecified() {
			c.peer = a
			continue
		}
		// A server has no business asking us for DNS, and an unspecified
		// server address is of no use to us.
		rej = append(rej, o)
	}
	return nil, rej
}

func (c *ipcpLayer) gotNak(opts []Option) {
	for _, o := range opts {
		a, ok := optAddr(o.Value)
		if !ok {
			continue
		}
		switch o.Type {
		case ipcpAddress:
			if c.l.cfg.Role == Client {
				c.local = a
			} else {
				// Our address is ours to choose; keep asking for it.
				c.l.log.Debug(fmt.Sprintf("IPCP: peer suggests local address %v, keeping %v", a, c.local))
			}
		case ipcpDNS1, ipcpDNS2:
			if c.l.cfg.Role == Client {
				c.dns[dnsIndex(o.Type)] = a
			}
		}
	}
}

func (c *ipcpLayer) gotRej(opts []Option) {
	for _, o := range opts {
		switch o.Type {
		case ipcpAddress:
			c.sendAddr = false
		case ipcpDNS1, ipcpDNS2:
			c.askDNS[dnsIndex(o.Type)] = false
		}
	}
}

func (c *ipcpLayer) up() {
	if c.l.cfg.Role == Client && (!c.local.Is4() || c.local.IsUnspecified()) {
		c.l.close("IPCP: peer gave us no IP address")
		return
	}
	c.l.log.Debug("local  IP address " + c.local.String())
	c.l.log.Debug("remote IP address " + c.peer.String())
	if c.l.tracing() {
		c.l.traceIPCPUp(c.local, c.peer, c.dns)
	}
	for i, d := range c.dns {
		if d.Is4() && !d.IsUnspecified() {
			c.l.log.Debug(fmt.Sprintf("%s DNS address %v", [2]string{"primary  ", "secondary"}[i], d))
		}
	}
	c.l.checkNetUp()
}

func (c *ipcpLayer) down()    { c.l.netDown() }
func (c *ipcpLayer) started() {}

func (c *ipcpLayer) finished() {
	c.l.close("IPCP negotiation failed, no network protocols running")
}

func (c *ipcpLayer) other(Packet) bool { return false }

// retryIPCP sends our IPCP Configure-Request again at once, with a fresh
// restart counter, if it is still unanswered when CCP opens. A peer that
// requires MPPE does not open IPCP until CCP is open (pppd auth.c, and
// ours with ipcpWait): it Terminate-Acks (pppd) or discards (an automaton
// in Initial) a request sent before, and waiting out the restart timer
// would cost every such login 3 s. CCP opening is the moment that peer
// opens IPCP (the last CCP Ack reaches it before this request); a peer
// that merely had not answered yet answers twice, and the stale answer
// is ignored by its identifier.
func (l *Link) retryIPCP() {
	if f := l.ipcp; f.state == StateReqSent {
		l.log.Debug("IPCP: our request is unanswered as CCP opens; asking again")
		f.irc(true)
		f.scr()
	}
}
