package dhcpd

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func clientIDOpt(id string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte(id)))
}

// TestDeclineReleaseOnlyFromHolder: a DHCPDECLINE or DHCPRELEASE ends a lease
// only when it comes from the client holding it, names its address and our
// server identifier (RFC 2131 §4.3.3, §4.3.4); anything else is counted and
// ignored. Before the fix a DECLINE from any MAC evicted the named lease.
func TestDeclineReleaseOnlyFromHolder(t *testing.T) {
	tests := []struct {
		name     string
		mt       dhcpv4.MessageType
		from     net.HardwareAddr
		mods     func(a string) []dhcpv4.Modifier
		honoured bool
	}{
		{"decline from another mac", dhcpv4.MessageTypeDecline, mac(2),
			func(a string) []dhcpv4.Modifier { return []dhcpv4.Modifier{requested(a), serverID("192.168.1.1")} }, false},
		{"decline from another mac, no server id", dhcpv4.MessageTypeDecline, mac(2),
			func(a string) []dhcpv4.Modifier { return []dhcpv4.Modifier{requested(a)} }, false},
		{"decline by the holder for another server", dhcpv4.MessageTypeDecline, mac(1),
			func(a string) []dhcpv4.Modifier { return []dhcpv4.Modifier{requested(a), serverID("192.168.1.2")} }, false},
		{"decline by the holder of another address", dhcpv4.MessageTypeDecline, mac(1),
			func(string) []dhcpv4.Modifier {
				return []dhcpv4.Modifier{requested("192.168.1.12"), serverID("192.168.1.1")}
			}, false},
		{"decline with another client id", dhcpv4.MessageTypeDecline, mac(1),
			func(a string) []dhcpv4.Modifier {
				return []dhcpv4.Modifier{requested(a), serverID("192.168.1.1"), clientIDOpt("other")}
			}, false},
		{"release from another mac", dhcpv4.MessageTypeRelease, mac(2),
			func(a string) []dhcpv4.Modifier {
				return []dhcpv4.Modifier{dhcpv4.WithClientIP(net.ParseIP(a)), serverID("192.168.1.1")}
			}, false},
		{"release with another client id", dhcpv4.MessageTypeRelease, mac(1),
			func(a string) []dhcpv4.Modifier {
				return []dhcpv4.Modifier{dhcpv4.WithClientIP(net.ParseIP(a)), serverID("192.168.1.1"), clientIDOpt("other")}
			}, false},
		{"decline by the holder", dhcpv4.MessageTypeDecline, mac(1),
			func(a string) []dhcpv4.Modifier {
				return []dhcpv4.Modifier{requested(a), serverID("192.168.1.1"), clientIDOpt("pc-1")}
			}, true},
		{"release by the holder", dhcpv4.MessageTypeRelease, mac(1),
			func(a string) []dhcpv4.Modifier {
				return []dhcpv4.Modifier{dhcpv4.WithClientIP(net.ParseIP(a)), serverID("192.168.1.1"), clientIDOpt("pc-1")}
			}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := testServer(t, "", "192.168.1.10", "192.168.1.12")
			a := doraWith(t, s, mac(1), clientIDOpt("pc-1"))
			before := s.Stats()
			if r, err := s.Handle(msg(t, tt.mt, tt.from, tt.mods(a.String())...)); r != nil || err != nil {
				t.Fatalf("%v answered %v, %v", tt.mt, r, err)
			}
			held := false
			for _, l := range s.Leases() {
				held = held || (l.MAC == mac(1).String() && l.Addr == a)
			}
			if held == tt.honoured {
				t.Fatalf("lease of %v held=%v after %s", a, held, tt.name)
			}
			st := s.Stats()
			ignored := st.DeclinesIgnored - before.DeclinesIgnored + st.ReleasesIgnored - before.ReleasesIgnored
			if want := map[bool]uint64{true: 0, false: 1}[tt.honoured]; ignored != want {
				t.Fatalf("ignored counters moved by %d, want %d (%+v)", ignored, want, st)
			}
		})
	}
}

// doraWith is dora with extra options on both messages.
func doraWith(t *testing.T, s *Server, hw net.HardwareAddr, extra ...dhcpv4.Modifier) netip.Addr {
	t.Helper()
	offer, err := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, hw, extra...))
	if err != nil || offer == nil {
		t.Fatalf("discover: %v, %v", offer, err)
	}
	ack, err := s.Handle(msg(t, dhcpv4.MessageTypeRequest, hw, append([]dhcpv4.Modifier{requested(offer.YourIPAddr.String()), serverID("192.168.1.1")}, extra...)...))
	if err != nil || ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("request: %v, %v", ack, err)
	}
	return addrOf(ack.YourIPAddr)
}
