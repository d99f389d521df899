// Package dhcpd is the DHCPv4 server pptpbox runs on its LAN port (RFC 2131),
// on top of github.com/insomniacslk/dhcp's server4. It hands out addresses
// from one range with the router, DNS and lease-time options, and keeps its
// leases in a file so a restart does not reassign addresses in use.
//
// The protocol logic ([Server.Handle]) is separate from the socket
// ([Server.Serve]) so it is tested without privileges.
package dhcpd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Config is one LAN's DHCP service.
type Config struct {
	Iface      string       // LAN interface to serve on
	ServerAddr netip.Addr   // the box's LAN address: server identifier (option 54)
	Prefix     netip.Prefix // the LAN subnet; gives the subnet mask (option 1)
	RangeStart netip.Addr   // first address handed out
	RangeEnd   netip.Addr   // last address handed out
	LeaseTime  time.Duration
	Router     netip.Addr   // option 3; zero to omit
	DNS        []netip.Addr // option 6
	Domain     string       // option 15; empty to omit
	// LeaseFile keeps the leases across restarts; empty keeps them in memory only.
	LeaseFile string
	// ExpiryWriteEvery coalesces lease-file writes that only move an
	// expiry (renewals): they are written at most this often, and at a
	// clean stop (Serve returning). Zero means DefaultExpiryWriteEvery.
	ExpiryWriteEvery time.Duration
	Logger           *slog.Logger
}

// DefaultExpiryWriteEvery bounds how stale a renewed expiry may be on flash.
// Renewals come every half lease (RFC 2131 §4.4.5 T1), so a file up to five
// minutes behind still shows every renewed lease running for hours; a power
// cut costs nothing a client notices (it keeps its address, pick prefers
// never-used addresses over lapsed ones), while flash sees one write per five
// minutes at most instead of one per renewal.
const DefaultExpiryWriteEvery = 5 * time.Minute

// offerHold is how long an offered address stays reserved for the client
// that was offered it while it decides (RFC 2131 §4.3.1 leaves it to us).
const offerHold = 30 * time.Second

// Validate checks that the range lies in the prefix and excludes the server.
func (c *Config) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("dhcpd: "+f, a...)) }
	if c.Iface == "" {
		bad("no interface")
	}
	if !c.Prefix.IsValid() || !c.Prefix.Addr().Is4() {
		bad("prefix %v is not IPv4", c.Prefix)
	}
	for _, a := range []struct {
		name string
		addr netip.Addr
	}{{"server address", c.ServerAddr}, {"range start", c.RangeStart}, {"range end", c.RangeEnd}} {
		if !a.addr.Is4() || !c.Prefix.Contains(a.addr) {
			bad("%s %v is not inside %v", a.name, a.addr, c.Prefix)
		}
	}
	if c.RangeEnd.Less(c.RangeStart) {
		bad("range %v-%v is empty", c.RangeStart, c.RangeEnd)
	}
	if !c.ServerAddr.Less(c.RangeStart) && !c.RangeEnd.Less(c.ServerAddr) {
		bad("server address %v is inside the range %v-%v", c.ServerAddr, c.RangeStart, c.RangeEnd)
	}
	// The config layer asks operators for a minute or more; tests use
	// leases of seconds to see clients renew.
	if c.LeaseTime < 2*time.Second {
		bad("lease time %v shorter than 2s", c.LeaseTime)
	}
	return errors.Join(errs...)
}

// Lease is one address bound to a client hardware address.
type Lease struct {
	MAC      string     `json:"mac"` // 00:11:22:33:44:55
	Addr     netip.Addr `json:"addr"`
	Hostname string     `json:"hostname,omitempty"`
	// ClientID is the client identifier (option 61, hex) the client
	// bound the lease with; RFC 2131 §4.2 keys a binding on it when sent.
	ClientID string    `json:"client_id,omitempty"`
	Expiry   time.Time `json:"expiry"`
	// Offered marks an address only offered, not yet requested; such
	// entries are not written to the lease file.
	Offered bool `json:"-"`
}

// Server is the LAN DHCP server. Its methods are safe for concurrent use
// (server4 runs each request on its own goroutine).
type Server struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	byMAC  map[string]*Lease
	byAddr map[netip.Addr]*Lease
	// write stores the table (saveLeases; tests count calls).
	write func(path string, leases []Lease) error
	// dirty: the table has expiry changes not yet written; lastWrite is
	// when the file was last written.
	dirty     bool
	lastWrite time.Time
	stats     Stats
}

// Stats counts what the server refused and how often it wrote its file.
type Stats struct {
	// DeclinesIgnored and ReleasesIgnored count DHCPDECLINE/DHCPRELEASE
	// messages not from the holder of the lease they name (another
	// chaddr or client identifier, another address, another server).
	DeclinesIgnored uint64 `json:"declines_ignored"`
	ReleasesIgnored uint64 `json:"releases_ignored"`
	LeaseWrites     uint64 `json:"lease_writes"` // lease-file writes (each a fsync + rename + dir fsync)
	LeaseWriteErrs  uint64 `json:"lease_write_errors"`
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// New checks cfg and loads the lease file when there is one.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: time.Now,
		byMAC: map[string]*Lease{}, byAddr: map[netip.Addr]*Lease{},
		write: func(path string, leases []Lease) error { return saveLeases(path, leases, syncDir) }}
	if s.cfg.ExpiryWriteEvery <= 0 {
		s.cfg.ExpiryWriteEvery = DefaultExpiryWriteEvery
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("dhcpd", cfg.Iface)
	if cfg.LeaseFile != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.LeaseFile), 0o755); err != nil {
			return nil, fmt.Errorf("dhcpd: lease file directory: %w", err)
		}
		leases, err := loadLeases(cfg.LeaseFile)
		var perr *parseError
		if errors.As(err, &perr) {
			// A damaged file must not keep the LAN without DHCP: set it
			// aside for inspection and start with an empty table (clients
			// ask for their old addresses and mostly get them back).
			bad := cfg.LeaseFile + ".bad"
			s.log.Warn("dhcpd: lease file unreadable, starting empty", "err", err, "moved_to", bad)
			if rerr := os.Rename(cfg.LeaseFile, bad); rerr != nil {
				return nil, fmt.Errorf("dhcpd: set aside damaged lease file: %w", rerr)
			}
			leases, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, l := range leases {
			if s.inRange(l.Addr) {
				s.bind(l)
			}
		}
	}
	return s, nil
}

// Leases returns a copy of the current leases (offers excluded).
func (s *Server) Leases() []Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Server) snapshot() []Lease {
	var out []Lease
	for a := s.cfg.RangeStart; a.IsValid() && !s.cfg.RangeEnd.Less(a); a = a.Next() {
		if l := s.byAddr[a]; l != nil && !l.Offered {
			out = append(out, *l)
		}
	}
	return out
}

func (s *Server) inRange(a netip.Addr) bool {
	return a.Is4() && !a.Less(s.cfg.RangeStart) && !s.cfg.RangeEnd.Less(a) && a != s.cfg.ServerAddr
}

func (s *Server) bind(l Lease) {
	if old := s.byMAC[l.MAC]; old != nil {
		delete(s.byAddr, old.Addr)
	}
	if old := s.byAddr[l.Addr]; old != nil {
		delete(s.byMAC, old.MAC)
	}
	s.byMAC[l.MAC] = &l
	s.byAddr[l.Addr] = &l
}

func (s *Server) unbind(l *Lease) {
	delete(s.byMAC, l.MAC)
	delete(s.byAddr, l.Addr)
}

// free reports whether a may be given to mac: unused, used by mac itself,
// or held by a lease that has run out.
func (s *Server) free(a netip.Addr, mac string) bool {
	if !s.inRange(a) {
		return false
	}
	l := s.byAddr[a]
	return l == nil || l.MAC == mac || !s.now().Before(l.Expiry)
}

// pick chooses the address to offer (RFC 2131 §4.3.1): the client's current
// or previous binding, else the address it asks for, else a never-used
// address, else the one expired longest ago.
func (s *Server) pick(mac string, requested netip.Addr) (netip.Addr, bool) {
	if l := s.byMAC[mac]; l != nil && s.free(l.Addr, mac) {
		return l.Addr, true
	}
	if requested.IsValid() && s.free(requested, mac) {
		return requested, true
	}
	var oldest *Lease
	for a := s.cfg.RangeStart; a.IsValid() && !s.cfg.RangeEnd.Less(a); a = a.Next() {
		if !s.inRange(a) {
			continue
		}
		l := s.byAddr[a]
		if l == nil {
			return a, true
		}
		if !s.now().Before(l.Expiry) && (oldest == nil || l.Expiry.Before(oldest.Expiry)) {
			oldest = l
		}
	}
	if oldest != nil {
		return oldest.Addr, true
	}
	return netip.Addr{}, false
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
