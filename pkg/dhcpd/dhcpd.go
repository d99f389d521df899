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
	Logger    *slog.Logger
}

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
	Expiry   time.Time  `json:"expiry"`
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
}

// New checks cfg and loads the lease file when there is one.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: time.Now,
		byMAC: map[string]*Lease{}, byAddr: map[netip.Addr]*Lease{}}
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
		s.bind(Lease{MAC: mac, Addr: a, Hostname: req.HostName(), Expiry: s.now().Add(s.cfg.LeaseTime)})
		// A lease file we cannot write costs persistence, not service.
		if err := s.save(); err != nil {
			s.log.Error("dhcpd: leases not saved", "err", err)
		}
		s.log.Info("dhcpd: ack", "mac", mac, "addr", a, "hostname", req.HostName())
		return s.reply(req, dhcpv4.MessageTypeAck, a)
	case dhcpv4.MessageTypeRelease:
		if l := s.byMAC[mac]; l != nil && l.Addr == addrOf(req.ClientIPAddr) {
			s.unbind(l)
			s.log.Info("dhcpd: release", "mac", mac, "addr", l.Addr)
			return nil, s.save()
		}
		return nil, nil
	case dhcpv4.MessageTypeDecline:
		// The client found the address in use (RFC 2131 §4.3.3): keep it out
		// of the pool for a lease time under a placeholder owner.
		if a := addrOf(req.RequestedIPAddress()); s.inRange(a) {
			s.bind(Lease{MAC: "declined:" + a.String(), Addr: a, Expiry: s.now().Add(s.cfg.LeaseTime)})
			s.log.Warn("dhcpd: decline", "mac", mac, "addr", a)
			return nil, s.save()
		}
		return nil, nil
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

func (s *Server) save() error {
	if s.cfg.LeaseFile == "" {
		return nil
	}
	return saveLeases(s.cfg.LeaseFile, s.snapshot())
}
