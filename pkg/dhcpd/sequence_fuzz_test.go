package dhcpd

import (
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// seqStep is one request of FuzzHandleSequence, decoded from 5 input bytes:
// the message type, which of four clients sends it, the last octet of the
// Requested IP Address option and of ciaddr (0: absent), and a byte whose
// low bits name the Server Identifier (ours, another server's, none) and
// whose high six bits advance the clock by that many times 10 s first.
const seqStepLen = 5

// seqRequest builds the request a step describes.
func seqRequest(t *testing.T, step []byte) *dhcpv4.DHCPv4 {
	t.Helper()
	mods := []dhcpv4.Modifier{
		dhcpv4.WithHwAddr(mac(step[1] % 4)),
		dhcpv4.WithMessageType(dhcpv4.MessageType(step[0] % 9)),
		dhcpv4.WithOption(dhcpv4.OptHostName("host")),
	}
	if step[2] != 0 {
		mods = append(mods, requested(net.IPv4(192, 168, 1, step[2]).String()))
	}
	if step[3] != 0 {
		mods = append(mods, dhcpv4.WithClientIP(net.IPv4(192, 168, 1, step[3])))
	}
	switch step[4] & 3 {
	case 1:
		mods = append(mods, serverID("192.168.1.1"))
	case 2:
		mods = append(mods, serverID("192.168.1.2"))
	}
	m, err := dhcpv4.New(mods...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkTables: the two indexes of the lease table describe the same
// leases, all inside the range.
func checkTables(t *testing.T, s *Server) {
	t.Helper()
	for m, l := range s.byMAC {
		if l.MAC != m || s.byAddr[l.Addr] != l {
			t.Fatalf("byMAC[%s] = %+v, byAddr has %+v", m, l, s.byAddr[l.Addr])
		}
	}
	for a, l := range s.byAddr {
		if l.Addr != a || s.byMAC[l.MAC] != l {
			t.Fatalf("byAddr[%v] = %+v, byMAC has %+v", a, l, s.byMAC[l.MAC])
		}
		if !s.inRange(a) {
			t.Fatalf("lease %+v outside the range", l)
		}
	}
}

// FuzzHandleSequence drives one server through sequences of requests from
// four clients over a three-address pool, with the clock moving between
// them: the lease table stays consistent, no address is offered or acked
// while another client's lease on it runs (RFC 2131 §4.3.1/§4.3.2), every
// reply echoes the transaction ID, and a server restarted on the lease
// file it wrote has exactly the leases it had.
func FuzzHandleSequence(f *testing.F) {
	for _, s := range handleSequenceSeeds() {
		f.Add(s)
	}
	f.Fuzz(fuzzHandleSequence)
}

// handleSequenceSeeds are the sequences of testdata/fuzz/FuzzHandleSequence.
func handleSequenceSeeds() [][]byte {
	const (
		discover = byte(dhcpv4.MessageTypeDiscover)
		request  = byte(dhcpv4.MessageTypeRequest)
		decline  = byte(dhcpv4.MessageTypeDecline)
		release  = byte(dhcpv4.MessageTypeRelease)
		inform   = byte(dhcpv4.MessageTypeInform)
	)
	return [][]byte{
		// Three clients take the pool; the fourth finds it exhausted.
		{discover, 0, 0, 0, 0, request, 0, 10, 0, 1,
			discover, 1, 0, 0, 0, request, 1, 11, 0, 1,
			discover, 2, 12, 0, 0, request, 2, 12, 0, 1,
			discover, 3, 0, 0, 0, request, 3, 10, 0, 1},
		// A client declines, another takes the offer of another server,
		// one renews and one releases after the offers ran out.
		{discover, 0, 0, 0, 0, decline, 0, 10, 0, 0,
			discover, 1, 0, 0, 0, request, 1, 0, 0, 2,
			discover, 2, 0, 0, 4 << 2, request, 2, 11, 0, 1,
			request, 2, 0, 11, 63 << 2, release, 2, 0, 11, 0, inform, 3, 0, 12, 0},
		// Leases run out (6 × 630 s > 1 h) and pass to other clients.
		{discover, 0, 0, 0, 0, request, 0, 10, 0, 1,
			discover, 1, 10, 0, 63 << 2, discover, 1, 10, 0, 63 << 2, discover, 1, 10, 0, 63 << 2,
			discover, 1, 10, 0, 63 << 2, discover, 1, 10, 0, 63 << 2, discover, 1, 10, 0, 63 << 2,
			request, 1, 10, 0, 1, request, 0, 0, 10, 0},
		// A client declines its lease (with our server identifier), another
		// client declines and releases an address it does not hold.
		{discover, 0, 0, 0, 0, request, 0, 10, 0, 1, decline, 0, 10, 0, 1,
			discover, 1, 0, 0, 0, request, 1, 11, 0, 1, decline, 2, 11, 0, 1, release, 3, 0, 11, 1},
	}
}

func fuzzHandleSequence(t *testing.T, in []byte) {
	if len(in) > 64*seqStepLen {
		return // long sequences add time, not states: the pool has three addresses
	}
	file := filepath.Join(t.TempDir(), "leases.json")
	cfg := Config{
		Iface:      "lan0",
		ServerAddr: netip.MustParseAddr("192.168.1.1"),
		Prefix:     netip.MustParsePrefix("192.168.1.0/24"),
		RangeStart: netip.MustParseAddr("192.168.1.10"),
		RangeEnd:   netip.MustParseAddr("192.168.1.12"),
		LeaseTime:  time.Hour,
		LeaseFile:  file,
		Logger:     slog.New(slog.DiscardHandler),
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.now
	for len(in) >= seqStepLen {
		step := in[:seqStepLen]
		in = in[seqStepLen:]
		clk.t = clk.t.Add(time.Duration(step[4]>>2) * 10 * time.Second)
		req := seqRequest(t, step)
		mac := req.ClientHWAddr.String()

		// Who holds each address before the request: a reply must not
		// hand out an address another client holds.
		holder := map[netip.Addr]Lease{}
		for a, l := range s.byAddr {
			holder[a] = *l
		}
		resp, err := s.Handle(req)
		if err != nil {
			t.Fatalf("%v: %v", req.MessageType(), err)
		}
		checkTables(t, s)
		// A DHCPDECLINE or DHCPRELEASE touches no other client's binding
		// (RFC 2131 §4.3.3, §4.3.4: only the holder ends its lease).
		if mt := req.MessageType(); mt == dhcpv4.MessageTypeDecline || mt == dhcpv4.MessageTypeRelease {
			for a, h := range holder {
				if h.MAC == mac {
					continue
				}
				if l := s.byAddr[a]; l == nil || l.MAC != h.MAC {
					t.Fatalf("%v from %s took %v from %s", mt, mac, a, h.MAC)
				}
			}
		}
		if resp == nil {
			continue
		}
		if resp.TransactionID != req.TransactionID {
			t.Fatalf("reply xid %v, request %v", resp.TransactionID, req.TransactionID)
		}
		switch mt := resp.MessageType(); mt {
		case dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck:
			a := addrOf(resp.YourIPAddr)
			if !a.IsValid() {
				if mt == dhcpv4.MessageTypeAck && req.MessageType() == dhcpv4.MessageTypeInform {
					continue // an Inform is acked without an address (RFC 2131 §4.3.5)
				}
				t.Fatalf("%v to %v without an address", mt, req.MessageType())
			}
			if !s.inRange(a) {
				t.Fatalf("%v of %v, outside the range", mt, a)
			}
			if h, ok := holder[a]; ok && h.MAC != mac && clk.t.Before(h.Expiry) {
				t.Fatalf("%v of %v to %s while %s holds it until %v", mt, a, mac, h.MAC, h.Expiry)
			}
			if l := s.byAddr[a]; l == nil || l.MAC != mac || l.Offered != (mt == dhcpv4.MessageTypeOffer) {
				t.Fatalf("%v of %v to %s recorded as %+v", mt, a, mac, l)
			}
		case dhcpv4.MessageTypeNak:
		default:
			t.Fatalf("reply %v to %v", mt, req.MessageType())
		}
	}

	// A restart on the lease file brings back the acked leases of clients.
	want := map[string]Lease{}
	for _, l := range s.Leases() {
		if _, err := net.ParseMAC(l.MAC); err == nil {
			want[l.MAC] = l
		}
	}
	s.mu.Lock()
	err = s.save() // the file is written on changes; write the final table
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	again, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Leases()
	if len(got) != len(want) {
		t.Fatalf("restart: %d leases, want %d: %+v vs %+v", len(got), len(want), got, want)
	}
	for _, l := range got {
		w, ok := want[l.MAC]
		if !ok || w.Addr != l.Addr || w.Hostname != l.Hostname || !w.Expiry.Equal(l.Expiry) {
			t.Fatalf("restart: lease %+v, want %+v", l, w)
		}
	}
}
