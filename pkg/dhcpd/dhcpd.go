// Package dhcpd is the DHCPv4 server pptpbox runs on its LAN port (RFC 2131),
// on top of github.com/insomniacslk/dhcp's server4. It hands out addresses
// from one range with the router, DNS and lease-time options, and keeps its
// leases in a file so a restart does not reassign addresses in use.
//
// The protocol logic ([Server.Handle]) is separate from the socket
// ([Server.Serve]) so it is tested without privileges.
package dhcpd

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
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

// Handle computes the reply to one request; nil means no reply (a request
// for another server, a release, an unknown message). It records bindings
// and writes the lease file when they change.
func (s *Server) Handle(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	if req.OpCode != dhcpv4.OpcodeBootRequest || len(req.ClientHWAddr) != 6 {
		return nil, nil
	}
	mac := req.ClientHWAddr.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch mt := req.MessageType(); mt {
	case dhcpv4.MessageTypeDiscover:
		a, ok := s.pick(mac, addrOf(req.RequestedIPAddress()))
		if !ok {
			s.log.Warn("dhcpd: pool exhausted", "mac", mac)
			return nil, nil
		}
		s.bind(Lease{MAC: mac, Addr: a, Hostname: req.HostName(), Expiry: s.now().Add(offerHold), Offered: true})
		return s.reply(req, dhcpv4.MessageTypeOffer, a)
	case dhcpv4.MessageTypeRequest:
		// A Request naming another server means the client took its offer
		// (RFC 2131 §4.3.2): drop our reservation, say nothing.
		if sid := addrOf(req.ServerIdentifier()); sid.IsValid() && sid != s.cfg.ServerAddr {
			if l := s.byMAC[mac]; l != nil && l.Offered {
				s.unbind(l)
			}
			return nil, nil
		}
		a := addrOf(req.RequestedIPAddress())
		if !a.IsValid() {
			a = addrOf(req.ClientIPAddr) // RENEWING / REBINDING
		}
		if !a.IsValid() || !s.free(a, mac) {
			s.log.Info("dhcpd: nak", "mac", mac, "requested", a)
			return s.reply(req, dhcpv4.MessageTypeNak, netip.Addr{})
		}
		l := Lease{MAC: mac, Addr: a, Hostname: req.HostName(), ClientID: clientID(req), Expiry: s.now().Add(s.cfg.LeaseTime)}
		renewal := s.isRenewal(l)
		s.bind(l)
		// A lease file we cannot write costs persistence, not service.
		if err := s.changed(!renewal); err != nil {
			s.log.Error("dhcpd: leases not saved", "err", err)
		}
		if !renewal {
			s.log.Info("dhcpd: ack", "mac", mac, "addr", a, "hostname", req.HostName())
		}
		return s.reply(req, dhcpv4.MessageTypeAck, a)
	case dhcpv4.MessageTypeRelease:
		// The client gives up its lease (RFC 2131 §4.3.4): ciaddr names it.
		a := addrOf(req.ClientIPAddr)
		l, why := s.holder(req, mac, a)
		if l == nil {
			s.stats.ReleasesIgnored++
			s.log.Warn("dhcpd: release ignored", "mac", mac, "addr", a, "reason", why)
			return nil, nil
		}
		s.unbind(l)
		s.log.Info("dhcpd: release", "mac", mac, "addr", l.Addr)
		return nil, s.changed(true)
	case dhcpv4.MessageTypeDecline:
		// The client found the address in use (RFC 2131 §4.3.3): keep it out
		// of the pool for a lease time under a placeholder owner. Only the
		// holder of the lease may decline it: anyone else could evict any
		// LAN host's lease by naming its address.
		a := addrOf(req.RequestedIPAddress())
		l, why := s.holder(req, mac, a)
		if l == nil {
			s.stats.DeclinesIgnored++
			s.log.Warn("dhcpd: decline ignored", "mac", mac, "addr", a, "reason", why)
			return nil, nil
		}
		s.bind(Lease{MAC: "declined:" + a.String(), Addr: a, Expiry: s.now().Add(s.cfg.LeaseTime)})
		s.log.Warn("dhcpd: decline", "mac", mac, "addr", a)
		return nil, s.changed(true)
	case dhcpv4.MessageTypeInform:
		return s.reply(req, dhcpv4.MessageTypeAck, netip.Addr{})
	default:
		return nil, nil
	}
}

// reply builds an Offer/Ack/Nak carrying our options (RFC 2131 §4.3.1
// table 3). A Nak carries only the server identifier.
func (s *Server) reply(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType, yiaddr netip.Addr) (*dhcpv4.DHCPv4, error) {
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.cfg.ServerAddr.AsSlice())),
	}
	if mt != dhcpv4.MessageTypeNak {
		mask := net.CIDRMask(s.cfg.Prefix.Bits(), 32)
		mods = append(mods, dhcpv4.WithNetmask(mask))
		if yiaddr.IsValid() {
			mods = append(mods, dhcpv4.WithYourIP(yiaddr.AsSlice()),
				dhcpv4.WithLeaseTime(uint32(s.cfg.LeaseTime/time.Second)))
		}
		if s.cfg.Router.IsValid() {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(s.cfg.Router.AsSlice())))
		}
		if len(s.cfg.DNS) > 0 {
			var ips []net.IP
			for _, d := range s.cfg.DNS {
				ips = append(ips, d.AsSlice())
			}
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(ips...)))
		}
		if s.cfg.Domain != "" {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(s.cfg.Domain)))
		}
	}
	resp, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil {
		return nil, fmt.Errorf("dhcpd: build %v for %s: %w", mt, req.ClientHWAddr, err)
	}
	return resp, nil
}

// clientID is the request's client identifier (option 61) in hex, "" when
// absent.
func clientID(req *dhcpv4.DHCPv4) string {
	return hex.EncodeToString(req.Options.Get(dhcpv4.OptionClientIdentifier))
}

// holder returns the lease a DHCPDECLINE or DHCPRELEASE may end: the one
// bound (acked, not merely offered) to this chaddr and client identifier, on
// address a, with our server identifier in the message (RFC 2131 §4.3.3,
// §4.3.4; table 5 makes option 54 a MUST in both). Otherwise it says why not.
func (s *Server) holder(req *dhcpv4.DHCPv4, mac string, a netip.Addr) (*Lease, string) {
	if sid := addrOf(req.ServerIdentifier()); sid != s.cfg.ServerAddr {
		return nil, "server identifier " + sid.String() + " is not ours"
	}
	l := s.byMAC[mac]
	switch {
	case !a.IsValid():
		return nil, "no address named"
	case l == nil || l.Offered:
		if other := s.byAddr[a]; other != nil {
			return nil, "address held by another client"
		}
		return nil, "no lease for this client"
	case l.Addr != a:
		return nil, "address held by another client"
	case l.ClientID != clientID(req):
		return nil, "client identifier differs from the lease's"
	}
	return l, ""
}

// isRenewal reports whether binding l only moves the expiry of a running
// lease (same client, address, hostname, client identifier): such changes
// are written coalesced, not at once.
func (s *Server) isRenewal(l Lease) bool {
	old := s.byMAC[l.MAC]
	return old != nil && !old.Offered && s.now().Before(old.Expiry) &&
		old.Addr == l.Addr && old.Hostname == l.Hostname && old.ClientID == l.ClientID
}

// changed records a change of the table: a binding change (now) is written
// at once; an expiry change is written when the last write is
// ExpiryWriteEvery old, else left for FlushDue or Flush.
func (s *Server) changed(now bool) error {
	s.dirty = true
	return s.flush(now)
}

// flush writes pending changes: at once when now, else only once the last
// write is ExpiryWriteEvery old; s.mu is held.
func (s *Server) flush(now bool) error {
	if !s.dirty || (!now && s.now().Sub(s.lastWrite) < s.cfg.ExpiryWriteEvery) {
		return nil
	}
	return s.save()
}

// FlushDue writes pending expiry changes once ExpiryWriteEvery has passed
// since the last write (Serve calls it every minute).
func (s *Server) FlushDue() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(false)
}

// Flush writes pending changes now (a clean stop).
func (s *Server) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(true)
}

// save writes the table now; s.mu is held.
func (s *Server) save() error {
	s.dirty = false
	if s.cfg.LeaseFile == "" {
		return nil
	}
	s.lastWrite = s.now()
	s.stats.LeaseWrites++
	if err := s.write(s.cfg.LeaseFile, s.snapshot()); err != nil {
		s.stats.LeaseWriteErrs++
		s.dirty = true // try again with the next change or flush
		return err
	}
	return nil
}
