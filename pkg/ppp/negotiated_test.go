package ppp

import (
	"testing"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// Negotiated reports both directions of each layer as the two ends agreed
// them: the server's Local is the client's Peer and the other way round.
func TestNegotiated(t *testing.T) {
	scfg, ccfg := serverConfig(), clientConfig()
	scfg.MRU, ccfg.MRU = 1400, 1350
	srv, cli := pair(t, scfg, ccfg)
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	s, c := srv.link.Negotiated(), cli.link.Negotiated()

	if s.Phase != PhaseNetwork || !s.LCPOpen || !s.CCPOpen || !s.IPCPOpen || !s.MPPE || !s.AuthDone {
		t.Fatalf("server Negotiated = %+v, want every layer open", s)
	}
	if s.Local.MRU != 1400 || s.Peer.MRU != 1350 || c.Local.MRU != 1350 || c.Peer.MRU != 1400 {
		t.Errorf("MRU: server local %d peer %d, client local %d peer %d", s.Local.MRU, s.Peer.MRU, c.Local.MRU, c.Peer.MRU)
	}
	if s.Local.Magic == 0 || s.Local.Magic != c.Peer.Magic || s.Peer.Magic != c.Local.Magic {
		t.Errorf("magic: server %+v/%+v client %+v/%+v", s.Local, s.Peer, c.Local, c.Peer)
	}
	if s.Local.PFC != c.Peer.PFC || s.Local.ACFC != c.Peer.ACFC || !s.Peer.PFC || !s.Peer.ACFC {
		t.Errorf("PFC/ACFC: server %+v/%+v client %+v/%+v", s.Local, s.Peer, c.Local, c.Peer)
	}
	if s.Auth != AuthMSCHAPv2 || s.AuthUser != testUser {
		t.Errorf("auth = %v %q", s.Auth, s.AuthUser)
	}
	if want := mppe.BitS | mppe.BitH; s.MPPESend != want || s.MPPERecv != want || c.MPPESend != s.MPPERecv {
		t.Errorf("MPPE bits: server send %v recv %v, client send %v", s.MPPESend, s.MPPERecv, c.MPPESend)
	}
	if s.LocalIP != testLocal || s.PeerIP != testPeer || s.DNS != testDNS {
		t.Errorf("IPCP: local %v peer %v dns %v", s.LocalIP, s.PeerIP, s.DNS)
	}
	if c.LocalIP != testPeer || c.PeerIP != testLocal {
		t.Errorf("client IPCP: local %v peer %v", c.LocalIP, c.PeerIP)
	}
}
