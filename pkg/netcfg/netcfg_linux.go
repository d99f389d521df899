package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dial opens a route netlink socket in the calling thread's namespace.
// Strict checking makes the kernel filter dumps by the request's fields.
func dial() (*rtnetlink.Conn, error) {
	c, err := rtnetlink.Dial(&netlink.Config{Strict: true})
	if err != nil {
		return nil, fmt.Errorf("netcfg: dial rtnetlink: %w", err)
	}
	return c, nil
}

// linkByName resolves an interface name with an RTM_GETLINK request for
// that name only (IFLA_IFNAME filter, Linux 2.6.33+).
func linkByName(c *rtnetlink.Conn, name string) (rtnetlink.LinkMessage, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: bad interface name %q", name)
	}
	msgs, err := c.Execute(&rtnetlink.LinkMessage{
		Family:     unix.AF_UNSPEC,
		Attributes: &rtnetlink.LinkAttributes{Name: name},
	}, unix.RTM_GETLINK, netlink.Request)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: interface %q: %w", name, ErrNoSuchLink)
		}
		return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: interface %q: %w", name, err)
	}
	for _, m := range msgs {
		if lm, ok := m.(*rtnetlink.LinkMessage); ok {
			return *lm, nil
		}
	}
	return rtnetlink.LinkMessage{}, fmt.Errorf("netcfg: interface %q: %w", name, ErrNoSuchLink)
}

func withLink(name string, fn func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error) error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	lm, err := linkByName(c, name)
	if err != nil {
		return err
	}
	return fn(c, lm)
}

// LinkIndex returns the kernel index of interface name.
func LinkIndex(name string) (int, error) {
	var idx int
	err := withLink(name, func(_ *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		idx = int(lm.Index)
		return nil
	})
	return idx, err
}

// LinkUp sets IFF_UP on interface name (ip link set dev NAME up).
func LinkUp(name string) error {
	return setLinkFlag(name, unix.IFF_UP, true)
}

// LinkDown clears IFF_UP on interface name.
func LinkDown(name string) error {
	return setLinkFlag(name, unix.IFF_UP, false)
}

func setLinkFlag(name string, flag uint32, on bool) error {
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		var flags uint32
		if on {
			flags = flag
		}
		err := c.Link.Set(&rtnetlink.LinkMessage{
			Family: unix.AF_UNSPEC,
			Type:   lm.Type,
			Index:  lm.Index,
			Flags:  flags,
			Change: flag,
		})
		if err != nil {
			return fmt.Errorf("netcfg: set %s flags %#x=%v: %w", name, flag, on, err)
		}
		return nil
	})
}

// SetMTU sets the MTU of interface name.
func SetMTU(name string, mtu int) error {
	// 68 is the IPv4 minimum (RFC 791); 65535 the largest IP datagram.
	if mtu < 68 || mtu > 65535 {
		return fmt.Errorf("netcfg: set %s mtu: %d out of range 68-65535", name, mtu)
	}
	return withLink(name, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		if lm.Attributes != nil && lm.Attributes.MTU == uint32(mtu) {
			return nil
		}
		err := c.Link.Set(&rtnetlink.LinkMessage{
			Family:     unix.AF_UNSPEC,
			Type:       lm.Type,
			Index:      lm.Index,
			Attributes: &rtnetlink.LinkAttributes{MTU: uint32(mtu)},
		})
		if err != nil {
			return fmt.Errorf("netcfg: set %s mtu %d: %w", name, mtu, err)
		}
		return nil
	})
}

// LinkMTU returns the MTU of interface name.
func LinkMTU(name string) (int, error) {
	var mtu int
	err := withLink(name, func(_ *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		if lm.Attributes != nil {
			mtu = int(lm.Attributes.MTU)
		}
		return nil
	})
	return mtu, err
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func ipOf(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

// proxyNeigh builds an NTF_PROXY neighbour entry: the kernel answers ARP
// requests for addr on dev with dev's own MAC (ip neigh add proxy ADDR dev DEV),
// which is what pppd's "proxyarp" does for a peer inside the LAN subnet.
//
// rtnetlink v2 always encodes NDA_LLADDR, and the kernel rejects one shorter
// than the device's address, so we pass the device's own MAC, which a
// proxy entry ignores.
func proxyNeigh(addr netip.Addr, lm rtnetlink.LinkMessage) *rtnetlink.NeighMessage {
	var mac net.HardwareAddr
	if lm.Attributes != nil {
		mac = lm.Attributes.Address
	}
	return &rtnetlink.NeighMessage{
		Family:     uint16(family(addr)),
		Index:      lm.Index,
		State:      unix.NUD_PERMANENT,
		Flags:      unix.NTF_PROXY,
		Attributes: &rtnetlink.NeighAttributes{Address: ipOf(addr.Unmap()), LLAddress: mac},
	}
}

// AddProxyARP publishes addr on interface dev with a proxy neighbour entry.
// It is idempotent.
func AddProxyARP(addr netip.Addr, dev string) error {
	return withLink(dev, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		_, err := c.Execute(proxyNeigh(addr, lm), unix.RTM_NEWNEIGH,
			netlink.Request|netlink.Create|netlink.Replace|netlink.Acknowledge)
		if err != nil {
			return fmt.Errorf("netcfg: add proxy arp %s dev %s: %w", addr, dev, err)
		}
		return nil
	})
}

// DelProxyARP removes the proxy neighbour entry of addr on dev; an absent
// entry is not an error.
func DelProxyARP(addr netip.Addr, dev string) error {
	return withLink(dev, func(c *rtnetlink.Conn, lm rtnetlink.LinkMessage) error {
		_, err := c.Execute(proxyNeigh(addr, lm), unix.RTM_DELNEIGH,
			netlink.Request|netlink.Acknowledge)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("netcfg: delete proxy arp %s dev %s: %w", addr, dev, err)
		}
		return nil
	})
}
