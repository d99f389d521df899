package dhcpd

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

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
