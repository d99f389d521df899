package dhcpd

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// fakeClock is advanced by the tests; Server.now reads it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testServer(t *testing.T, file string, start, end string) (*Server, *fakeClock) {
	t.Helper()
	s, err := New(Config{
		Iface:      "lan0",
		ServerAddr: netip.MustParseAddr("192.168.1.1"),
		Prefix:     netip.MustParsePrefix("192.168.1.0/24"),
		RangeStart: netip.MustParseAddr(start),
		RangeEnd:   netip.MustParseAddr(end),
		LeaseTime:  time.Hour,
		Router:     netip.MustParseAddr("192.168.1.1"),
		DNS:        []netip.Addr{netip.MustParseAddr("192.168.1.1")},
		LeaseFile:  file,
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clk.now
	return s, clk
}

func mac(i byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, i} }

func msg(t *testing.T, mt dhcpv4.MessageType, hw net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(mt)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func requested(a string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(a)))
}

func serverID(a string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(a)))
}

// dora runs Discover/Offer/Request/Ack for hw and returns the address.
func dora(t *testing.T, s *Server, hw net.HardwareAddr) netip.Addr {
	t.Helper()
	offer, err := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, hw))
	if err != nil || offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("discover: %v, %v", offer, err)
	}
	ack, err := s.Handle(msg(t, dhcpv4.MessageTypeRequest, hw, requested(offer.YourIPAddr.String()), serverID("192.168.1.1")))
	if err != nil || ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("request: %v, %v", ack, err)
	}
	if !ack.YourIPAddr.Equal(offer.YourIPAddr) {
		t.Fatalf("ack %v != offer %v", ack.YourIPAddr, offer.YourIPAddr)
	}
	return addrOf(ack.YourIPAddr)
}

func TestDORAOptions(t *testing.T) {
	s, _ := testServer(t, "", "192.168.1.100", "192.168.1.199")
	offer, err := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac(1)))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"yiaddr", offer.YourIPAddr.String(), "192.168.1.100"},
		{"server id", offer.ServerIdentifier().String(), "192.168.1.1"},
		{"mask", net.IP(offer.SubnetMask()).String(), "255.255.255.0"},
		{"router", offer.Router()[0].String(), "192.168.1.1"},
		{"dns", offer.DNS()[0].String(), "192.168.1.1"},
		{"lease", offer.IPAddressLeaseTime(0).String(), "1h0m0s"},
		{"xid", offer.TransactionID.String(), msg(t, dhcpv4.MessageTypeDiscover, mac(1), dhcpv4.WithTransactionID(offer.TransactionID)).TransactionID.String()},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("offer %s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if len(s.Leases()) != 0 {
		t.Errorf("an offer became a lease: %v", s.Leases())
	}
}

func TestLeaseLifecycle(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Server, clk *fakeClock)
	}{
		{"two clients get different addresses, same again on rediscover", func(t *testing.T, s *Server, _ *fakeClock) {
			a, b := dora(t, s, mac(1)), dora(t, s, mac(2))
			if a == b {
				t.Fatalf("both got %v", a)
			}
			if again := dora(t, s, mac(1)); again != a {
				t.Fatalf("rediscover gave %v, had %v", again, a)
			}
		}},
		{"request for a taken address is naked", func(t *testing.T, s *Server, _ *fakeClock) {
			a := dora(t, s, mac(1))
			nak, _ := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(2), requested(a.String())))
			if nak == nil || nak.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("got %v, want NAK", nak)
			}
		}},
		{"request outside the range is naked", func(t *testing.T, s *Server, _ *fakeClock) {
			nak, _ := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(1), requested("192.168.1.50")))
			if nak == nil || nak.MessageType() != dhcpv4.MessageTypeNak {
				t.Fatalf("got %v, want NAK", nak)
			}
		}},
		{"renew by ciaddr extends the lease", func(t *testing.T, s *Server, clk *fakeClock) {
			a := dora(t, s, mac(1))
			clk.t = clk.t.Add(30 * time.Minute)
			ack, _ := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(1), dhcpv4.WithClientIP(a.AsSlice())))
			if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("renew: %v", ack)
			}
			if l := s.Leases(); len(l) != 1 || !l[0].Expiry.Equal(clk.t.Add(time.Hour)) {
				t.Fatalf("leases after renew: %+v", l)
			}
		}},
		{"choosing another server frees the offer", func(t *testing.T, s *Server, _ *fakeClock) {
			offer, _ := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac(1)))
			r, _ := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(1), requested(offer.YourIPAddr.String()), serverID("192.168.1.2")))
			if r != nil {
				t.Fatalf("answered a request for another server: %v", r)
			}
			if got := dora(t, s, mac(2)); got != addrOf(offer.YourIPAddr) {
				t.Fatalf("freed offer not reused: %v", got)
			}
		}},
		{"release frees, expired lease is reused", func(t *testing.T, s *Server, clk *fakeClock) {
			a := dora(t, s, mac(1))
			b := dora(t, s, mac(2))
			s.Handle(msg(t, dhcpv4.MessageTypeRelease, mac(1), dhcpv4.WithClientIP(a.AsSlice()), serverID("192.168.1.1")))
			if got := dora(t, s, mac(3)); got != a {
				t.Fatalf("released %v not reused, got %v", a, got)
			}
			// The range holds three; the fourth client waits for an expiry.
			if offer, _ := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac(5))); offer == nil {
				t.Fatal("third address not offered")
			}
			if offer, _ := s.Handle(msg(t, dhcpv4.MessageTypeDiscover, mac(4))); offer != nil {
				t.Fatalf("offered %v from an exhausted pool", offer.YourIPAddr)
			}
			clk.t = clk.t.Add(2 * time.Hour)
			// Every binding has run out; the one that ran out first is the
			// 30-second offer to client 5.
			if got := dora(t, s, mac(4)); got != netip.MustParseAddr("192.168.1.12") || got == a || got == b {
				t.Fatalf("after expiry got %v, want the lapsed offer 192.168.1.12", got)
			}
		}},
		{"decline keeps the address out", func(t *testing.T, s *Server, _ *fakeClock) {
			a := dora(t, s, mac(1))
			s.Handle(msg(t, dhcpv4.MessageTypeDecline, mac(1), requested(a.String()), serverID("192.168.1.1")))
			if got := dora(t, s, mac(1)); got == a {
				t.Fatalf("declined %v offered again", a)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := testServer(t, "", "192.168.1.10", "192.168.1.12")
			tt.run(t, s, clk)
		})
	}
}

func TestLeasesPersist(t *testing.T) {
	file := filepath.Join(t.TempDir(), "var", "lib", "leases.json") // directories made by New
	s, _ := testServer(t, file, "192.168.1.100", "192.168.1.199")
	a := dora(t, s, mac(1))
	b := dora(t, s, mac(2))

	// A restarted server keeps both bindings: a new client gets neither.
	s2, _ := testServer(t, file, "192.168.1.100", "192.168.1.199")
	if got := s2.Leases(); len(got) != 2 {
		t.Fatalf("reloaded leases %+v", got)
	}
	if c := dora(t, s2, mac(3)); c == a || c == b {
		t.Fatalf("new client got a persisted address %v", c)
	}
	if again := dora(t, s2, mac(1)); again != a {
		t.Fatalf("client 1 got %v after restart, had %v", again, a)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedLeaseFileSetAside(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leases.json")
	if err := os.WriteFile(file, []byte("{\"version\":1,\"leases\":[{\"mac\":\"zz\"}]}"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := testServer(t, file, "192.168.1.100", "192.168.1.199")
	if got := dora(t, s, mac(1)); got != netip.MustParseAddr("192.168.1.100") {
		t.Fatalf("got %v", got)
	}
	if _, err := os.Stat(file + ".bad"); err != nil {
		t.Fatalf("damaged file not set aside: %v", err)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), "02:00:00:00:00:01") {
		t.Fatalf("new lease file %q, %v", b, err)
	}
	// An unreadable (not damaged) file is an error, not a reset.
	dir := filepath.Join(t.TempDir(), "dir.json")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Iface: "lan0", ServerAddr: netip.MustParseAddr("192.168.1.1"),
		Prefix:     netip.MustParsePrefix("192.168.1.0/24"),
		RangeStart: netip.MustParseAddr("192.168.1.100"), RangeEnd: netip.MustParseAddr("192.168.1.199"),
		LeaseTime: time.Hour, LeaseFile: dir}); err == nil {
		t.Fatal("a directory as lease file was accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		return Config{Iface: "lan0", ServerAddr: netip.MustParseAddr("192.168.1.1"),
			Prefix:     netip.MustParsePrefix("192.168.1.0/24"),
			RangeStart: netip.MustParseAddr("192.168.1.100"), RangeEnd: netip.MustParseAddr("192.168.1.199"),
			LeaseTime: time.Hour}
	}
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"good", func(*Config) {}, true},
		{"range outside prefix", func(c *Config) { c.RangeEnd = netip.MustParseAddr("192.168.2.10") }, false},
		{"empty range", func(c *Config) { c.RangeEnd = netip.MustParseAddr("192.168.1.50") }, false},
		{"server in range", func(c *Config) { c.ServerAddr = netip.MustParseAddr("192.168.1.150") }, false},
		{"short lease", func(c *Config) { c.LeaseTime = time.Second }, false},
		{"test lease", func(c *Config) { c.LeaseTime = 2 * time.Second }, true},
		{"no iface", func(c *Config) { c.Iface = "" }, false},
	}
	for _, tt := range tests {
		c := good()
		tt.mod(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParseLeases(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"empty", `{"version":1,"leases":[]}`, true},
		{"one", `{"version":1,"leases":[{"mac":"02:00:00:00:00:01","addr":"192.168.1.100","expiry":"2026-01-01T00:00:00Z"}]}`, true},
		{"version", `{"version":2,"leases":[]}`, false},
		{"bad mac", `{"version":1,"leases":[{"mac":"zz","addr":"192.168.1.100","expiry":"2026-01-01T00:00:00Z"}]}`, false},
		{"upper-case mac", `{"version":1,"leases":[{"mac":"02:00:00:00:00:AA","addr":"192.168.1.100","expiry":"2026-01-01T00:00:00Z"}]}`, false},
		{"v6", `{"version":1,"leases":[{"mac":"02:00:00:00:00:01","addr":"2001:db8::1","expiry":"2026-01-01T00:00:00Z"}]}`, false},
		{"dup addr", `{"version":1,"leases":[{"mac":"02:00:00:00:00:01","addr":"192.168.1.100","expiry":"2026-01-01T00:00:00Z"},{"mac":"02:00:00:00:00:02","addr":"192.168.1.100","expiry":"2026-01-01T00:00:00Z"}]}`, false},
		{"garbage", `{`, false},
	}
	for _, tt := range tests {
		if _, err := parseLeases([]byte(tt.in)); (err == nil) != tt.ok {
			t.Errorf("%s: parseLeases = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// FuzzParseLeases: whatever parses must encode and parse back to the same table.
func FuzzParseLeases(f *testing.F) {
	f.Add([]byte(`{"version":1,"leases":[{"mac":"02:00:00:00:00:01","addr":"192.168.1.100","hostname":"pc","expiry":"2026-01-01T00:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		leases, err := parseLeases(b)
		if err != nil {
			return
		}
		enc, err := encodeLeases(leases)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseLeases(enc)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", enc, err)
		}
		if !slices.EqualFunc(leases, again, func(a, b Lease) bool {
			return a.MAC == b.MAC && a.Addr == b.Addr && a.Hostname == b.Hostname && a.Expiry.Equal(b.Expiry)
		}) {
			t.Fatalf("round trip changed %+v to %+v", leases, again)
		}
	})
}

// FuzzHandle: any packet the DHCP library parses is handled without panic,
// and a reply always echoes the transaction ID (RFC 2131 §4.3.1).
func FuzzHandle(f *testing.F) {
	d, _ := dhcpv4.NewDiscovery(mac(1))
	f.Add(d.ToBytes())
	r, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(2)), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), requested("192.168.1.100"))
	f.Add(r.ToBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		s, _ := testServer(t, "", "192.168.1.10", "192.168.1.12")
		resp, err := s.Handle(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp != nil && resp.TransactionID != req.TransactionID {
			t.Fatalf("reply xid %v, request %v", resp.TransactionID, req.TransactionID)
		}
	})
}
