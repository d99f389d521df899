package nat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// ruleset is the whole table, built without touching the kernel so the
// builder can be tested unprivileged and applied in one batch.
type ruleset struct {
	table    *nftables.Table
	counters []*nftables.CounterObj
	helpers  []*nftables.NamedObj // ct helper objects, declared before the rules naming them
	chains   []*nftables.Chain
	rules    []*nftables.Rule
}

// chain names of the table.
const (
	chainInput       = "input"
	chainWANIn       = "wan_in"
	chainForward     = "forward"
	chainPrerouting  = "prerouting"
	chainPostrouting = "postrouting"
)

// IP protocol numbers (IANA) used in meta l4proto matches.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoGRE    = 47 // RFC 2784; PPTP data (RFC 2637 §4)
	protoICMPv6 = 58
)

// build turns validated Params into the ruleset. The order of rules inside
// each chain is the order of the nft listing.
func build(p Params) *ruleset {
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	accept, drop := nftables.ChainPolicyAccept, nftables.ChainPolicyDrop
	rs := &ruleset{table: t}
	for _, name := range []string{CounterWANDropped, CounterForwardDropped, CounterMgmtRefused, CounterMSSClamped} {
		rs.counters = append(rs.counters, &nftables.CounterObj{Table: t, Name: name})
	}
	input := &nftables.Chain{Name: chainInput, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept}
	wanIn := &nftables.Chain{Name: chainWANIn, Table: t}
	forward := &nftables.Chain{Name: chainForward, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop}
	pre := &nftables.Chain{Name: chainPrerouting, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &accept}
	post := &nftables.Chain{Name: chainPostrouting, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept}
	rs.chains = []*nftables.Chain{input, wanIn, forward, pre, post}

	// One builder per chain, in chain order: each appends its rules in
	// listing order.
	rs.inputRules(input, p)
	rs.wanInRules(wanIn, p)
	rs.forwardRules(forward, p)
	rs.preroutingRules(pre, p)
	rs.postroutingRules(post, p)
	return rs
}

// add appends a rule to chain c with comment, its expressions the
// concatenation of exprs.
func (rs *ruleset) add(c *nftables.Chain, comment string, exprs ...[]expr.Any) {
	r := &nftables.Rule{Table: rs.table, Chain: c, UserData: userdata.AppendString(nil, userdata.TypeComment, comment)}
	for _, e := range exprs {
		r.Exprs = append(r.Exprs, e...)
	}
	rs.rules = append(rs.rules, r)
}

// inputRules fills input: the box itself. The ping limit comes before the
// conntrack shortcut: every echo request after a session's first is
// "established", and would otherwise never meet the limit.
func (rs *ruleset) inputRules(input *nftables.Chain, p Params) {
	if p.ICMPRate > 0 {
		rs.add(input, "ping flood", ifname(expr.MetaKeyIIFNAME, p.WAN), nfproto(unix.NFPROTO_IPV4), l4proto(protoICMP), thByte(0, 8),
			[]expr.Any{&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(p.ICMPRate), Over: true, Unit: expr.LimitTimeSecond, Burst: 2 * p.ICMPRate}},
			counterRef(CounterWANDropped), verdict(expr.VerdictDrop))
	}
	rs.add(input, "established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept))
	rs.add(input, "invalid", ctState(expr.CtStateBitINVALID), verdict(expr.VerdictDrop))
	rs.add(input, "loopback", ifname(expr.MetaKeyIIFNAME, "lo"), verdict(expr.VerdictAccept))
	rs.add(input, "from wan", ifname(expr.MetaKeyIIFNAME, p.WAN), jump(chainWANIn))
	for _, port := range p.MgmtTCPPorts {
		if p.LAN != "" {
			rs.add(input, "management from lan", ifname(expr.MetaKeyIIFNAME, p.LAN), l4proto(protoTCP), thPort(2, port), verdict(expr.VerdictAccept))
		}
		if p.VPN != "" && p.MgmtFromVPN {
			rs.add(input, "management from vpn", ifname(expr.MetaKeyIIFNAME, p.VPN), l4proto(protoTCP), thPort(2, port), verdict(expr.VerdictAccept))
		}
		rs.add(input, "management refused", l4proto(protoTCP), thPort(2, port), counterRef(CounterMgmtRefused), verdict(expr.VerdictDrop))
	}
}

// wanInRules fills wan_in: what the WAN may send to the box (RFC 2637 §1:
// TCP 1723 and GRE).
func (rs *ruleset) wanInRules(wanIn *nftables.Chain, p Params) {
	if p.PPTPPort != 0 {
		rs.add(wanIn, "pptp control", l4proto(protoTCP), thPort(2, p.PPTPPort), verdict(expr.VerdictAccept))
		rs.add(wanIn, "pptp gre", l4proto(protoGRE), verdict(expr.VerdictAccept))
	} else if len(p.Sites) > 0 {
		// The dial-outs' GRE: conntrack cannot pair a PPTP call's two
		// directions without the PPTP helper (different keys), so the
		// server's packets look new.
		rs.add(wanIn, "dial-out gre", l4proto(protoGRE), verdict(expr.VerdictAccept))
	}
	// RFC 5176 dynamic authorization from the RADIUS servers only: any
	// other source meets the drop below, before boxd sees the packet.
	for _, a := range p.DAESources {
		if p.DAEPort == 0 {
			break
		}
		rs.add(wanIn, "radius dae", nfproto(unix.NFPROTO_IPV4), ip4Match(12, netip.PrefixFrom(a, 32)), l4proto(protoUDP), thPort(2, p.DAEPort), verdict(expr.VerdictAccept))
	}
	if p.ICMPRate > 0 {
		// Within the rate: the input chain dropped the excess already.
		rs.add(wanIn, "ping", nfproto(unix.NFPROTO_IPV4), l4proto(protoICMP), thByte(0, 8), verdict(expr.VerdictAccept))
	}
	// Router solicitation/advertisement and neighbour discovery (RFC 4861
	// types 133-136) keep IPv6 on the WAN link working.
	rs.add(wanIn, "ipv6 nd", nfproto(unix.NFPROTO_IPV6), l4proto(protoICMPv6),
		[]expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{133}, ToData: []byte{136}},
		}, verdict(expr.VerdictAccept))
	// DHCP server to client: UDP 67 -> 68 (RFC 2131 §4.1).
	rs.add(wanIn, "dhcp reply", nfproto(unix.NFPROTO_IPV4), l4proto(protoUDP), thPort(0, 67), thPort(2, 68), verdict(expr.VerdictAccept))
	rs.add(wanIn, "wan drop", counterRef(CounterWANDropped), verdict(expr.VerdictDrop))
}

// forwardRules fills forward: clamp first so every forwarded SYN is seen,
// accepted or not.
func (rs *ruleset) forwardRules(forward *nftables.Chain, p Params) {
	if p.ClampMSS != 0 || p.ClampPMTU {
		rs.add(forward, "mss clamp", mssClamp(p.ClampMSS, p.ClampPMTU))
	}
	rs.add(forward, "established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept))
	rs.add(forward, "invalid", ctState(expr.CtStateBitINVALID), verdict(expr.VerdictDrop))
	if p.VPN != "" && p.LAN != "" && p.VPNToLAN {
		rs.add(forward, "vpn to lan", ifname(expr.MetaKeyIIFNAME, p.VPN), ifname(expr.MetaKeyOIFNAME, p.LAN), verdict(expr.VerdictAccept))
		rs.add(forward, "lan to vpn", ifname(expr.MetaKeyIIFNAME, p.LAN), ifname(expr.MetaKeyOIFNAME, p.VPN), verdict(expr.VerdictAccept))
	}
	if p.VPN != "" {
		rs.add(forward, "vpn to wan", ifname(expr.MetaKeyIIFNAME, p.VPN), ifname(expr.MetaKeyOIFNAME, p.WAN), verdict(expr.VerdictAccept))
	}
	if p.LAN != "" && p.PPTPPassthrough {
		rs.helpers = append(rs.helpers, pptpHelper(rs.table))
		// The first packet (the SYN) of a LAN host's connection to an outside
		// PPTP server: the helper is only attached to a conntrack entry not yet
		// confirmed, and runs at confirmation, after this chain. Only the
		// forward hook: the box's own server (WAN -> box 1723) is input, and
		// never gets the helper. No verdict: "lan to wan" accepts it.
		rs.add(forward, "pptp passthrough", ifname(expr.MetaKeyIIFNAME, p.LAN), ifname(expr.MetaKeyOIFNAME, p.WAN),
			nfproto(unix.NFPROTO_IPV4), l4proto(protoTCP), thPort(2, pptpWellKnownPort),
			[]expr.Any{&expr.Objref{Type: int(nftables.ObjTypeCtHelper), Name: HelperPPTP}})
	}
	if p.LAN != "" {
		rs.add(forward, "lan to wan", ifname(expr.MetaKeyIIFNAME, p.LAN), ifname(expr.MetaKeyOIFNAME, p.WAN), verdict(expr.VerdictAccept))
	}
	for _, site := range p.Sites {
		if p.LAN != "" {
			rs.add(forward, "lan to site "+site.Iface, ifname(expr.MetaKeyIIFNAME, p.LAN), ifname(expr.MetaKeyOIFNAME, site.Iface), verdict(expr.VerdictAccept))
			rs.add(forward, "site to lan "+site.Iface, ifname(expr.MetaKeyIIFNAME, site.Iface), ifname(expr.MetaKeyOIFNAME, p.LAN), verdict(expr.VerdictAccept))
		}
	}
	if len(p.Forwards) > 0 {
		rs.add(forward, "port forwards", ctStatus(ipsDstNAT), verdict(expr.VerdictAccept))
	}
	rs.add(forward, "forward drop", counterRef(CounterForwardDropped), verdict(expr.VerdictDrop))
}

// preroutingRules fills prerouting: port forwards, and hairpin for LAN
// hosts that use the WAN address.
func (rs *ruleset) preroutingRules(pre *nftables.Chain, p Params) {
	for _, f := range p.Forwards {
		c := fmt.Sprintf("forward %v %d", f.Proto, f.Port)
		var dst []expr.Any
		if p.WANAddr.IsValid() {
			dst = ip4Match(16, netip.PrefixFrom(p.WANAddr, 32))
		}
		rs.add(pre, c, nfproto(unix.NFPROTO_IPV4), ifname(expr.MetaKeyIIFNAME, p.WAN), dst, l4proto(byte(f.Proto)), thPort(2, f.Port), dnat(f.To))
		if p.WANAddr.IsValid() && p.LAN != "" {
			rs.add(pre, c+" hairpin", nfproto(unix.NFPROTO_IPV4), ifname(expr.MetaKeyIIFNAME, p.LAN), dst, l4proto(byte(f.Proto)), thPort(2, f.Port), dnat(f.To))
		}
	}
}

// postroutingRules fills postrouting: masquerade out of the WAN (the seed's
// iptables rule).
func (rs *ruleset) postroutingRules(post *nftables.Chain, p Params) {
	for _, m := range p.Masquerade {
		rs.add(post, "masquerade "+m.Masked().String(), nfproto(unix.NFPROTO_IPV4), ifname(expr.MetaKeyOIFNAME, p.WAN), ip4Match(12, m), []expr.Any{&expr.Masq{}})
	}
	for _, site := range p.Sites {
		if site.Masquerade {
			rs.add(post, "masquerade site "+site.Iface, nfproto(unix.NFPROTO_IPV4), ifname(expr.MetaKeyOIFNAME, site.Iface), []expr.Any{&expr.Masq{}})
		}
	}
	if len(p.Forwards) > 0 && p.WANAddr.IsValid() && p.LAN != "" {
		rs.add(post, "hairpin", nfproto(unix.NFPROTO_IPV4), ifname(expr.MetaKeyOIFNAME, p.LAN), ip4Match(12, p.LANPrefix), ctStatus(ipsDstNAT), []expr.Any{&expr.Masq{}})
	}
}

// HelperPPTP is the name of the table's ct helper object for PPTP
// passthrough (nft list ct helpers table inet pptpbox).
const HelperPPTP = "pptp"

// pptpWellKnownPort is TCP 1723 (RFC 2637 §1), the port outside PPTP
// servers listen on and the port the kernel's helper is written for.
const pptpWellKnownPort = 1723

// pptpHelper is `ct helper "pptp" { type "pptp" protocol tcp; l3proto ip; }`:
// the kernel's nf_conntrack_pptp, IPv4 only (it has no IPv6 variant), with
// nf_nat_pptp rewriting call IDs behind the masquerade.
func pptpHelper(t *nftables.Table) *nftables.NamedObj {
	return &nftables.NamedObj{Table: t, Name: HelperPPTP, Type: nftables.ObjTypeCtHelper,
		Obj: &expr.CtHelper{Name: "pptp", L3Proto: unix.NFPROTO_IPV4, L4Proto: unix.IPPROTO_TCP}}
}

// ipsDstNAT is IPS_DST_NAT of enum ip_conntrack_status (nf_conntrack_common.h).
const ipsDstNAT = 1 << 5

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

func jump(chain string) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}
}

// ifname matches an interface name; "ppp*" matches the prefix only, the way
// nft compares a wildcard name without its terminating NUL.
func ifname(key expr.MetaKey, name string) []expr.Any {
	var data []byte
	if prefix, ok := strings.CutSuffix(name, "*"); ok {
		data = []byte(prefix)
	} else {
		data = make([]byte, unix.IFNAMSIZ)
		copy(data, name)
	}
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data},
	}
}

func nfproto(f byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f}},
	}
}

func l4proto(p byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
	}
}

// thPort matches the transport source (offset 0) or destination (offset 2)
// port, which sit at the same place in TCP and UDP headers, in network order.
func thPort(offset uint32, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// thByte matches one byte of the transport header (the ICMP type at 0).
func thByte(offset uint32, v byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{v}},
	}
}

// ip4Match matches the IPv4 source (offset 12) or destination (offset 16)
// address against a prefix (RFC 791 §3.1 header layout).
func ip4Match(offset uint32, p netip.Prefix) []expr.Any {
	p = p.Masked()
	addr := p.Addr().As4()
	e := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}}
	if p.Bits() < 32 {
		mask := binaryutil.BigEndian.PutUint32(^uint32(0) << (32 - p.Bits()))
		if p.Bits() == 0 {
			mask = []byte{0, 0, 0, 0}
		}
		e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}})
	}
	return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]})
}

// ctState matches when any of the conntrack state bits is set; the kernel
// keeps ct state in host byte order.
func ctState(bits uint32) []expr.Any { return ctBits(expr.CtKeySTATE, bits) }

// ctStatus matches conntrack status bits (IPS_*), host byte order too.
func ctStatus(bits uint32) []expr.Any { return ctBits(expr.CtKeySTATUS, bits) }

func ctBits(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: key},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}

func counterRef(name string) []expr.Any {
	return []expr.Any{&expr.Objref{Type: int(nftables.ObjTypeCounter), Name: name}}
}

// TCP option kind 2 is the MSS (RFC 9293 §3.2), its value two bytes at
// option offset 2.
const (
	tcpOptMSS       = 2
	tcpOptMSSOffset = 2
)

// mssClamp rewrites the MSS option of SYN and SYN/ACK segments (flags
// SYN set, RST clear), as iptables' TCPMSS target: to mss when it is
// larger, or to the route's MTU minus 40 (nft "rt mtu"). The kernel's tcp
// option writer never raises an MSS, so pmtu mode needs no compare.
func mssClamp(mss uint16, pmtu bool) []expr.Any {
	e := l4proto(protoTCP)
	e = append(e,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x02 | 0x04}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x02}},
	)
	if pmtu {
		e = append(e, &expr.Rt{Register: 1, Key: expr.RtTCPMSS})
	} else {
		v := binaryutil.BigEndian.PutUint16(mss)
		e = append(e,
			&expr.Exthdr{DestRegister: 1, Type: tcpOptMSS, Offset: tcpOptMSSOffset, Len: 2, Op: expr.ExthdrOpTcpopt},
			&expr.Cmp{Op: expr.CmpOpGt, Register: 1, Data: v},
			&expr.Immediate{Register: 1, Data: v},
		)
	}
	e = append(e, counterRef(CounterMSSClamped)...)
	return append(e, &expr.Exthdr{SourceRegister: 1, Type: tcpOptMSS, Offset: tcpOptMSSOffset, Len: 2, Op: expr.ExthdrOpTcpopt})
}

// dnat rewrites the destination to to (address in register 1, port in
// register 2, both in network order).
func dnat(to netip.AddrPort) []expr.Any {
	a := to.Addr().As4()
	port := make([]byte, 2)
	binary.BigEndian.PutUint16(port, to.Port())
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: a[:]},
		&expr.Immediate{Register: 2, Data: port},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}
