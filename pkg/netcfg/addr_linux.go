package netcfg

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// addrMessage builds the RTM_NEWADDR/RTM_DELADDR body. For a point-to-point
// address IFA_LOCAL is ours and IFA_ADDRESS the peer (rtnetlink(7)).
func addrMessage(index uint32, prefix netip.Prefix, peer netip.Addr) (*rtnetlink.AddressMessage, error) {
	a := prefix.Addr().Unmap()
	if !a.IsValid() {
		return nil, errors.New("invalid prefix")
	}
	if peer.IsValid() && peer.Unmap().Is4() != a.Is4() {
		return nil, fmt.Errorf("peer %s and address %s differ in family", peer, a)
	}
	attrs := &rtnetlink.AddressAttributes{Address: ipOf(a), Local: ipOf(a)}
	if peer.IsValid() {
		attrs.Address = ipOf(peer.Unmap())
	} else if a.Is4() && prefix.Bits() < 31 {
		attrs.Broadcast = ipOf(broadcast(netip.PrefixFrom(a, prefix.Bits())))
	}
	if a.Is6() {
		attrs.Local = nil
	}
	return &rtnetlink.AddressMessage{
		Family:       family(a),
		PrefixLength: uint8(prefix.Bits()),
		Scope:        unix.RT_SCOPE_UNIVERSE,
		Index:        index,
		Attributes:   attrs,
	}, nil
}

// broadcast returns the all-ones host address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := range 4 {
		for j := range 8 {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	return netip.AddrFrom4(b)
}

// AddAddr adds prefix (address and prefix length) to interface name; peer,
// when valid, makes it a point-to-point address (ip addr add A peer P).
// Adding an address that is already there is not an error: the request has
// NLM_F_REPLACE without NLM_F_EXCL, which the kernel treats as an update.
func AddAddr(name string, prefix netip.Prefix, peer netip.Addr) error {
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		m, err := addrMessage(lm.Index, prefix, peer)
		if err == nil {
			_, err = c.Execute(m, unix.RTM_NEWADDR,
				netlink.Request|netlink.Create|netlink.Replace|netlink.Acknowledge)
		}
		if err != nil {
			return fmt.Errorf("netcfg: add address %s peer %v to %s: %w", prefix, peer, name, err)
		}
		return nil
	})
}

// DelAddr removes prefix from interface name; an absent address is not an error.
func DelAddr(name string, prefix netip.Prefix) error {
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		m, err := addrMessage(lm.Index, prefix, netip.Addr{})
		if err == nil {
			m.Attributes.Broadcast = nil
			err = c.Address.Delete(m)
		}
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("netcfg: delete address %s from %s: %w", prefix, name, err)
		}
		return nil
	})
}

// Addrs lists the addresses of interface name (both families), as prefixes
// carrying the local address.
func Addrs(name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		msgs, err := c.Execute(&rtnetlink.AddressMessage{Index: lm.Index}, unix.RTM_GETADDR,
			netlink.Request|netlink.Dump)
		if err != nil {
			return fmt.Errorf("netcfg: list addresses of %s: %w", name, err)
		}
		for _, m := range msgs {
			am, ok := m.(*rtnetlink.AddressMessage)
			if !ok || am.Index != lm.Index || am.Attributes == nil {
				continue
			}
			ip := am.Attributes.Local
			if ip == nil {
				ip = am.Attributes.Address
			}
			a, ok := netip.AddrFromSlice(ip)
			if !ok {
				continue
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), int(am.PrefixLength)))
		}
		return nil
	})
	return out, err
}
