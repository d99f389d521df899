package ppp

// The network phase (RFC 1661 §3.6): which NCPs open, in which order (CCP
// before IPCP when MPPE is required), and when the data path opens and
// OnUp reports the link up. IPCP is in ipcp.go, CCP in ccp.go, the MPPE
// start in ccp_mppe.go.

import (
	"context"
	"fmt"
	"time"
)

// startNetwork enters the network phase and opens the NCPs.
func (l *Link) startNetwork() {
	if l.phase == PhaseNetwork {
		return
	}
	l.setPhase(PhaseNetwork)
	if l.cfg.Role == Client && !l.ipcpL.configured {
		l.ipcpL.setClient()
	}
	pol := l.mppePolicy()
	switch {
	case pol.Required && l.mppeUsable():
		// As pppd does (auth.c start_networks), IPCP waits for CCP when
		// MPPE is required: no address is negotiated on a link that may yet
		// end unencrypted, and a pppd peer, which holds its own IPCP back the
		// same way, is not sent an IPCP request it would only Terminate-Ack
		// (costing a restart timeout).
		l.ccp.Open()
		l.ccp.Up()
		l.ipcpWait = true
		return
	case pol.enabled() && l.mppeUsable():
		l.ccp.Open()
		l.ccp.Up()
	case pol.Required:
		l.close(fmt.Sprintf("MPPE required, but MS-CHAP[v2] auth not performed (%v)", authLabel(l.auth.proto)))
		return
	default:
		l.ccpDone = true
	}
	l.ipcp.Open()
	l.ipcp.Up()
}

// checkNetUp opens the data path once IPCP is open and CCP has settled:
// opened with MPPE both ways, or (MPPE not required) finished or unused.
func (l *Link) checkNetUp() {
	if l.ipcpWait && !l.dead && l.phase == PhaseNetwork && l.ccp.state == StateOpened && l.ccpL.bothWays() {
		l.ipcpWait = false
		l.ipcp.Open()
		l.ipcp.Up()
	}
	if l.netUp || l.dead || l.phase != PhaseNetwork || l.ipcp.state != StateOpened {
		return
	}
	enc := l.ccp.state == StateOpened && l.ccpL.bothWays()
	if !enc && !l.ccpDone {
		return
	}
	if enc {
		if err := l.startMPPE(); err != nil {
			l.close(fmt.Sprintf("MPPE: %v", err))
			return
		}
	}
	l.netUp = true
	l.tx.mu.Lock()
	l.tx.peerMRU = l.lcpL.peerMRU()
	l.tx.mru.Store(int32(l.tx.peerMRU))
	l.tx.up = true
	l.tx.mu.Unlock()
	info := UpInfo{
		User:    l.auth.user,
		Auth:    l.auth.proto,
		Local:   l.ipcpL.local,
		Peer:    l.ipcpL.peer,
		DNS:     l.ipcpL.dns,
		PeerMRU: l.lcpL.peerMRU(),
		Result:  l.auth.result,
	}
	if enc {
		info.MPPE = l.ccpL.describe()
	}
	if !l.started.IsZero() {
		info.Negotiated = time.Since(l.started)
	}
	if l.upReported {
		l.log.Debug("network phase reopened", "mppe", info.MPPE)
		return
	}
	l.upReported = true
	l.log.Log(context.Background(), l.upDownLevel(), "PPP link up", "user", info.User, "auth", info.Auth.String(), "local", info.Local, "peer", info.Peer, "mppe", info.MPPE)
	if up := l.cfg.OnUp; up != nil {
		l.later(func() { up(info) })
	}
}

// netDown closes the data path (an NCP left Opened, or the link ended).
func (l *Link) netDown() {
	l.tx.mu.Lock()
	l.tx.up = false
	l.tx.mru.Store(0)
	l.tx.enc = nil
	l.tx.mu.Unlock()
	l.rx.dec = nil
	l.netUp = false
}
