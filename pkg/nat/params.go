// Package nat programs pptpbox's packet filter and NAT: one nftables table,
// "inet pptpbox", built from [Params] and replaced atomically in a single
// netlink batch (google/nftables on mdlayher/netlink). Nothing outside that
// table is read or changed.
//
// # What the table does
//
//   - input: established/related accepted; from the WAN only PPTP (TCP 1723
//     and GRE), rate-limited ICMP echo, DHCP replies (and IPv6 neighbour
//     discovery), everything else dropped and counted; management ports
//     only from the LAN (and the VPN when allowed).
//   - forward (policy drop): MSS clamping of SYNs, VPN <-> LAN when allowed,
//     VPN and LAN -> WAN, WAN -> inside only established/related or DNATed;
//     the kernel's PPTP helper (ct helper "pptp") on LAN -> WAN TCP 1723 for
//     LAN hosts dialing outside PPTP servers.
//   - prerouting/postrouting: port forwards (DNAT, with hairpin NAT for LAN
//     hosts when the WAN address is known) and masquerade out of the WAN.
//
// # Entry points
//
// boxd calls [Apply] at start, on config reload and whenever the WAN address
// changes; [Remove] on shutdown; [ReadCounters] for the CLI. Apply checks
// Params before touching the kernel, and the kernel applies the batch
// all-or-nothing, so a failed Apply leaves the previous rules in place.
package nat

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// TableName is the nftables table pptpbox owns (family inet).
const TableName = "pptpbox"

// Proto is the transport protocol of a port forward.
type Proto uint8

// IANA protocol numbers, as they appear in the IPv4 header.
const (
	TCP Proto = 6
	UDP Proto = 17
)

func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return fmt.Sprintf("proto(%d)", uint8(p))
}

// ParseProto maps "tcp" and "udp" to a Proto.
func ParseProto(s string) (Proto, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return 0, fmt.Errorf("nat: unknown protocol %q (want tcp or udp)", s)
}

// PortForward is one DNAT rule: Proto traffic arriving on the WAN for Port is
// sent to To.
type PortForward struct {
	Proto Proto
	Port  uint16
	To    netip.AddrPort
}

// Counter names of the table (nft list counters table inet pptpbox).
const (
	CounterWANDropped     = "wan_in_dropped"
	CounterForwardDropped = "forward_dropped"
	CounterMgmtRefused    = "mgmt_refused"
	CounterMSSClamped     = "mss_clamped"
)

// Params is everything the table is built from. Interface names ending in
// "*" match every interface with that prefix (one TUN per session).
type Params struct {
	WAN string // WAN interface; required
	// WANAddr is the current WAN address, zero while unknown (DHCP not
	// bound yet). It restricts port forwards to traffic for the box and
	// enables hairpin NAT; Apply again when it changes.
	WANAddr netip.Addr

	LAN       string       // LAN interface; empty when the box has none
	LANPrefix netip.Prefix // LAN subnet, e.g. 192.168.1.0/24

	VPN      string         // TUN interface of the PPTP sessions; empty when off
	VPNPools []netip.Prefix // prefixes covering the address pool

	// Masquerade lists the source prefixes NATed out of the WAN
	// (iptables -t nat -A POSTROUTING -s P -o WAN -j MASQUERADE).
	Masquerade []netip.Prefix

	// ClampMSS is the MSS written into forwarded SYNs whose MSS is larger
	// (the seed's 1356); 0 with ClampPMTU false turns clamping off.
	ClampMSS uint16
	// ClampPMTU clamps to the route MTU instead (nft "rt mtu",
	// iptables --clamp-mss-to-pmtu); it excludes ClampMSS.
	ClampPMTU bool

	VPNToLAN bool // VPN clients and LAN hosts may reach each other

	// PPTPPassthrough attaches the kernel's PPTP conntrack helper
	// (nf_conntrack_pptp + nf_nat_pptp) to LAN hosts' TCP 1723 connections
	// out of the WAN, so that several of them can dial one outside server:
	// the helper tracks their calls' GRE by call ID and rewrites the IDs
	// behind the masquerade. The box's own server (WAN -> box) never gets
	// it. Needs a LAN; without one it adds nothing.
	PPTPPassthrough bool

	PPTPPort uint16 // TCP port of the PPTP server open on the WAN; 0 = closed
	// ICMPRate is the ICMP echo requests per second accepted from the WAN
	// (burst twice that); 0 drops them.
	ICMPRate uint32

	MgmtTCPPorts []uint16 // management services (control API, ssh...)
	MgmtFromVPN  bool     // VPN clients may reach them too

	Forwards []PortForward

	// DAEPort is the UDP port of RADIUS dynamic authorization (RFC 5176
	// Disconnect/CoA, 3799) the WAN may reach, but only from DAESources
	// (the RADIUS servers' addresses); 0 or no sources: none.
	DAEPort    uint16
	DAESources []netip.Addr

	// Sites are the dial-out tunnels ([[pptp.dial]]): the LAN and the
	// remote site reach each other through them.
	Sites []Site
}

// Site is one dial-out tunnel interface (a TUN the box dials a remote
// PPTP server with).
type Site struct {
	Iface string
	// Masquerade NATs what leaves through Iface to the interface's address.
	Masquerade bool
}

// validIfname reports whether s is a usable interface name or wildcard:
// IFNAMSIZ is 16 with the NUL, and '/' and spaces cannot occur.
func validIfname(s string) bool {
	name := strings.TrimSuffix(s, "*")
	return name != "" && len(s) < 16 && !strings.ContainsAny(name, "/ *\x00") && s != "." && s != ".."
}

// Validate checks p without touching the kernel; Apply calls it first.
func (p *Params) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("nat: "+format, args...)) }
	if !validIfname(p.WAN) {
		bad("wan interface %q is not a valid name", p.WAN)
	}
	if p.WANAddr.IsValid() && !p.WANAddr.Is4() {
		bad("wan address %s is not IPv4", p.WANAddr)
	}
	names := map[string]string{p.WAN: "wan"}
	for _, n := range []struct{ role, name string }{{"lan", p.LAN}, {"vpn", p.VPN}} {
		if n.name == "" {
			continue
		}
		if !validIfname(n.name) {
			bad("%s interface %q is not a valid name", n.role, n.name)
		} else if other, dup := names[n.name]; dup {
			bad("%s interface %q is also the %s interface", n.role, n.name, other)
		}
		names[n.name] = n.role
	}
	if p.LAN != "" && (!p.LANPrefix.IsValid() || !p.LANPrefix.Addr().Is4()) {
		bad("lan prefix %v is not an IPv4 prefix", p.LANPrefix)
	}
	for _, site := range p.Sites {
		if !validIfname(site.Iface) || strings.HasSuffix(site.Iface, "*") {
			bad("site interface %q is not a valid name", site.Iface)
		} else if other, dup := names[site.Iface]; dup {
			bad("site interface %q is also the %s interface", site.Iface, other)
		}
		names[site.Iface] = "site"
	}
	for _, pool := range p.VPNPools {
		if !pool.IsValid() || !pool.Addr().Is4() {
			bad("vpn pool %v is not an IPv4 prefix", pool)
		} else if p.LANPrefix.IsValid() && pool.Overlaps(p.LANPrefix) && p.VPN == "" {
			bad("vpn pool %s overlaps the lan but there is no vpn interface", pool)
		}
	}
	for _, m := range p.Masquerade {
		if !m.IsValid() || !m.Addr().Is4() {
			bad("masquerade prefix %v is not an IPv4 prefix", m)
		}
	}
	if p.ClampPMTU && p.ClampMSS != 0 {
		bad("clamp mss %d and clamp to pmtu are exclusive", p.ClampMSS)
	}
	// An IPv4 TCP segment needs 40 header bytes inside the 576-byte minimum
	// datagram (RFC 879), so an MSS below 536 only hurts.
	if p.ClampMSS != 0 && (p.ClampMSS < 536 || p.ClampMSS > 1460) {
		bad("clamp mss %d out of range 536-1460", p.ClampMSS)
	}
	for _, port := range p.MgmtTCPPorts {
		if port == 0 {
			bad("management port 0")
		}
		if port == p.PPTPPort {
			bad("management port %d is the pptp port", port)
		}
	}
	for _, a := range p.DAESources {
		if !a.Is4() {
			bad("dae source %v is not an IPv4 address", a)
		}
	}
	if p.DAEPort != 0 && len(p.DAESources) == 0 {
		bad("dae port %d without a source address", p.DAEPort)
	}
	seen := map[[2]uint16]bool{}
	for _, f := range p.Forwards {
		if f.Proto != TCP && f.Proto != UDP {
			bad("port forward %d: %v not tcp or udp", f.Port, f.Proto)
		}
		if f.Port == 0 || !f.To.IsValid() || f.To.Port() == 0 || !f.To.Addr().Is4() {
			bad("port forward %v %d -> %v: need ports and an IPv4 target", f.Proto, f.Port, f.To)
		}
		if f.Proto == TCP && f.Port == p.PPTPPort {
			bad("port forward tcp %d shadows the pptp port", f.Port)
		}
		if f.Proto == UDP && p.DAEPort != 0 && f.Port == p.DAEPort {
			bad("port forward udp %d shadows the dae port", f.Port)
		}
		if k := [2]uint16{uint16(f.Proto), f.Port}; seen[k] {
			bad("port forward %v %d listed twice", f.Proto, f.Port)
		} else {
			seen[k] = true
		}
	}
	return errors.Join(errs...)
}
