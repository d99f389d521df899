package probe

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// rawConn is a raw ICMP socket (needs CAP_NET_RAW: boxd is root). Every
// ICMP message the host receives is read by it; the callers keep theirs
// by identifier and sequence number.
type rawConn struct {
	c *icmp.PacketConn
	p *ipv4.PacketConn
}

// Listen opens a raw ICMP socket bound to source (the zero Addr: any).
func Listen(source netip.Addr) (Conn, error) {
	addr := "0.0.0.0"
	if source.IsValid() {
		if !source.Is4() {
			return nil, fmt.Errorf("probe: source %s is not IPv4", source)
		}
		addr = source.String()
	}
	c, err := icmp.ListenPacket("ip4:icmp", addr)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	p := c.IPv4PacketConn()
	if err := p.SetControlMessage(ipv4.FlagTTL, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("probe: %w", err)
	}
	return &rawConn{c: c, p: p}, nil
}

func (r *rawConn) Send(b []byte, dst netip.Addr, ttl int) error {
	if ttl > 0 {
		if err := r.p.SetTTL(ttl); err != nil {
			return fmt.Errorf("probe: set ttl %d: %w", ttl, err)
		}
	}
	_, err := r.c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

func (r *rawConn) Recv(b []byte, deadline time.Time) (int, netip.Addr, int, error) {
	if err := r.p.SetReadDeadline(deadline); err != nil {
		return 0, netip.Addr{}, -1, err
	}
	n, cm, src, err := r.p.ReadFrom(b)
	if err != nil {
		return 0, netip.Addr{}, -1, err
	}
	ttl := -1
	if cm != nil {
		ttl = cm.TTL
	}
	var a netip.Addr
	if ip, ok := src.(*net.IPAddr); ok {
		a, _ = netip.AddrFromSlice(ip.IP)
	}
	return n, a.Unmap(), ttl, nil
}

func (r *rawConn) Close() error { return r.c.Close() }
