package ppp

import (
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// Negotiated is what a link's LCP, authentication, CCP and IPCP agreed on,
// both ways, for an operator's "show session". Local is what we asked for
// and the peer acked (it applies to what we receive); Peer is what the peer
// asked for and we acked (it applies to what we send). A layer's fields
// mean something only while its Open field is true.
type Negotiated struct {
	Phase Phase

	LCPOpen bool
	Local   LCPOptions // our acked request
	Peer    LCPOptions // the peer's acked request

	// Auth is the protocol of the authentication phase (AuthNone: none
	// negotiated yet, or none configured); AuthUser the name it gave.
	Auth     AuthProto
	AuthUser string
	AuthDone bool // the phase ended (success or final failure)

	CCPOpen bool
	// MPPERecv are the bits of our CCP request (the peer encrypts to us
	// with them), MPPESend those of the peer's (we encrypt with them).
	// MPPE is true when both ways are in force.
	MPPE               bool
	MPPERecv, MPPESend mppe.Bits

	IPCPOpen bool
	LocalIP  netip.Addr    // our address
	PeerIP   netip.Addr    // the peer's, as we gave it
	DNS      [2]netip.Addr // the DNS servers given to the peer (invalid: none)
}

// LCPOptions are one direction's LCP options (RFC 1661 §6, RFC 1570 for
// none here). A zero MRU means the option was not sent (1500 applies).
type LCPOptions struct {
	MRU   int
	Magic uint32 // 0: not negotiated
	PFC   bool   // protocol field compression
	ACFC  bool   // address and control field compression
}

// Negotiated returns what the link negotiated so far. Safe to call from any
// goroutine at any time.
func (l *Link) Negotiated() Negotiated {
	l.lock()
	defer l.unlock()
	n := Negotiated{
		Phase:    l.phase,
		LCPOpen:  l.lcp.state == StateOpened,
		Auth:     l.auth.proto,
		AuthUser: l.auth.user,
		AuthDone: l.auth.done,
		CCPOpen:  l.ccp.state == StateOpened,
		IPCPOpen: l.ipcp.state == StateOpened,
	}
	if n.Auth == AuthNone && n.LCPOpen {
		n.Auth = l.lcpL.negotiatedAuth()
	}
	c := l.lcpL
	if c.sendMRU {
		n.Local.MRU = int(c.mru)
	}
	if c.sendMagic {
		n.Local.Magic = c.magic
	}
	n.Local.PFC, n.Local.ACFC = c.sendPFC, c.sendACFC
	if c.peer.hasMRU {
		n.Peer.MRU = int(c.peer.mru)
	}
	if c.peer.hasMagic {
		n.Peer.Magic = c.peer.magic
	}
	n.Peer.PFC, n.Peer.ACFC = c.peer.pfc, c.peer.acfc

	cc := l.ccpL
	n.MPPE = cc.bothWays()
	if cc.sendMPPE {
		n.MPPERecv = cc.ourBits
	}
	if cc.peerMPPE {
		n.MPPESend = cc.peerBits
	}

	ip := l.ipcpL
	n.LocalIP, n.PeerIP, n.DNS = ip.local, ip.peer, ip.dns
	return n
}
