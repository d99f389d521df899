package nat

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// comments lists the rule comments of one chain in order: the builder's
// decisions, readable.
func comments(rs *ruleset, chain string) []string {
	var out []string
	for _, r := range rs.rules {
		if r.Chain.Name == chain {
			c, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			out = append(out, c)
		}
	}
	return out
}

func TestBuildChains(t *testing.T) {
	tests := []struct {
		name  string
		p     func() Params
		chain string
		want  []string
	}{
		{"seed forward", seedParams, chainForward, []string{"mss clamp", "established", "invalid", "vpn to lan", "lan to vpn", "vpn to wan", "pptp passthrough", "lan to wan", "port forwards", "forward drop"}},
		{"no vpn<->lan", func() Params { p := seedParams(); p.VPNToLAN = false; return p }, chainForward,
			[]string{"mss clamp", "established", "invalid", "vpn to wan", "pptp passthrough", "lan to wan", "port forwards", "forward drop"}},
		{"no clamp no forwards", func() Params { p := seedParams(); p.ClampMSS = 0; p.Forwards = nil; return p }, chainForward,
			[]string{"established", "invalid", "vpn to lan", "lan to vpn", "vpn to wan", "pptp passthrough", "lan to wan", "forward drop"}},
		{"pptp passthrough off", func() Params { p := seedParams(); p.PPTPPassthrough = false; return p }, chainForward,
			[]string{"mss clamp", "established", "invalid", "vpn to lan", "lan to vpn", "vpn to wan", "lan to wan", "port forwards", "forward drop"}},
		{"pptp passthrough without lan", func() Params { p := seedParams(); p.LAN, p.LANPrefix, p.Forwards = "", netip.Prefix{}, nil; return p }, chainForward,
			[]string{"mss clamp", "established", "invalid", "vpn to wan", "forward drop"}},
		{"wan closed to pptp and ping", func() Params { p := seedParams(); p.PPTPPort = 0; p.ICMPRate = 0; return p }, chainWANIn,
			[]string{"ipv6 nd", "dhcp reply", "wan drop"}},
		{"seed wan_in", seedParams, chainWANIn, []string{"pptp control", "pptp gre", "ping", "ipv6 nd", "dhcp reply", "wan drop"}},
		{"mgmt from vpn", func() Params { p := seedParams(); p.MgmtFromVPN = true; p.MgmtTCPPorts = []uint16{22, 8443}; return p }, chainInput,
			[]string{"ping flood", "established", "invalid", "loopback", "from wan",
				"management from lan", "management from vpn", "management refused",
				"management from lan", "management from vpn", "management refused"}},
		{"no wan address: no hairpin", func() Params { p := seedParams(); p.WANAddr = netip.Addr{}; return p }, chainPrerouting,
			[]string{"forward tcp 8080", "forward udp 5060"}},
		{"seed postrouting", seedParams, chainPostrouting, []string{"masquerade 10.79.97.0/24", "masquerade 192.168.1.0/24", "hairpin"}},
		{"sites forward", withSites, chainForward, []string{"mss clamp", "established", "invalid", "vpn to lan", "lan to vpn", "vpn to wan", "pptp passthrough", "lan to wan",
			"lan to site dial-hq", "site to lan dial-hq", "lan to site dial-dc", "site to lan dial-dc", "port forwards", "forward drop"}},
		{"sites postrouting", withSites, chainPostrouting, []string{"masquerade 10.79.97.0/24", "masquerade 192.168.1.0/24", "masquerade site dial-hq", "hairpin"}},
		{"sites wan_in, server off", func() Params { p := withSites(); p.PPTPPort = 0; return p }, chainWANIn,
			[]string{"dial-out gre", "ping", "ipv6 nd", "dhcp reply", "wan drop"}},
		{"sites wan_in, server on", withSites, chainWANIn, []string{"pptp control", "pptp gre", "ping", "ipv6 nd", "dhcp reply", "wan drop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p()
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := comments(build(p), tt.chain); !slices.Equal(got, tt.want) {
				t.Errorf("chain %s:\n got %q\nwant %q", tt.chain, got, tt.want)
			}
		})
	}
}

// withSites is the seed with two dial-outs, one masqueraded.
func withSites() Params {
	p := seedParams()
	p.Sites = []Site{{Iface: "dial-hq", Masquerade: true}, {Iface: "dial-dc"}}
	return p
}

// findExprs returns the expressions of the first rule with comment c.
func findExprs(t *testing.T, rs *ruleset, c string) []expr.Any {
	t.Helper()
	for _, r := range rs.rules {
		if got, _ := userdata.GetString(r.UserData, userdata.TypeComment); got == c {
			return r.Exprs
		}
	}
	t.Fatalf("no rule %q", c)
	return nil
}

func TestBuildWireValues(t *testing.T) {
	rs := build(seedParams())

	// MSS 1356 = 0x054c, compared and written in network byte order.
	var imm *expr.Immediate
	var set *expr.Exthdr
	for _, e := range findExprs(t, rs, "mss clamp") {
		switch e := e.(type) {
		case *expr.Immediate:
			imm = e
		case *expr.Exthdr:
			if e.SourceRegister != 0 {
				set = e
			}
		}
	}
	if imm == nil || !bytes.Equal(imm.Data, []byte{0x05, 0x4c}) {
		t.Errorf("mss immediate = %+v, want 05 4c", imm)
	}
	if set == nil || set.Type != tcpOptMSS || set.Offset != 2 || set.Len != 2 || set.Op != expr.ExthdrOpTcpopt {
		t.Errorf("mss write = %+v", set)
	}

	// DNAT 192.168.1.10:80: address and port in network byte order.
	var imms [][]byte
	for _, e := range findExprs(t, rs, "forward tcp 8080") {
		if i, ok := e.(*expr.Immediate); ok {
			imms = append(imms, i.Data)
		}
	}
	if want := [][]byte{{192, 168, 1, 10}, {0, 80}}; !slices.EqualFunc(imms, want, bytes.Equal) {
		t.Errorf("dnat immediates = %v, want %v", imms, want)
	}
	// The external port 8080 = 0x1f90.
	found := false
	for _, e := range findExprs(t, rs, "forward tcp 8080") {
		if c, ok := e.(*expr.Cmp); ok && bytes.Equal(c.Data, []byte{0x1f, 0x90}) {
			found = true
		}
	}
	if !found {
		t.Error("no dport 8080 (1f 90) compare")
	}
}

func TestIfname(t *testing.T) {
	tests := []struct {
		name string
		want []byte
	}{
		{"eth0", append([]byte("eth0"), make([]byte, 12)...)},
		{"ppp*", []byte("ppp")},
	}
	for _, tt := range tests {
		cmp := ifname(expr.MetaKeyIIFNAME, tt.name)[1].(*expr.Cmp)
		if !bytes.Equal(cmp.Data, tt.want) {
			t.Errorf("ifname(%q) compares %q, want %q", tt.name, cmp.Data, tt.want)
		}
	}
}

func TestIP4Match(t *testing.T) {
	tests := []struct {
		prefix   string
		mask     []byte // nil: no bitwise
		wantData []byte
	}{
		{"10.79.97.0/24", []byte{255, 255, 255, 0}, []byte{10, 79, 97, 0}},
		{"10.79.97.77/24", []byte{255, 255, 255, 0}, []byte{10, 79, 97, 0}},
		{"203.0.113.2/32", nil, []byte{203, 0, 113, 2}},
		{"0.0.0.0/0", []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		e := ip4Match(12, netip.MustParsePrefix(tt.prefix))
		var mask []byte
		if b, ok := e[1].(*expr.Bitwise); ok {
			mask = b.Mask
		}
		cmp := e[len(e)-1].(*expr.Cmp)
		if !bytes.Equal(mask, tt.mask) || !bytes.Equal(cmp.Data, tt.wantData) {
			t.Errorf("ip4Match(%s): mask %v data %v, want %v %v", tt.prefix, mask, cmp.Data, tt.mask, tt.wantData)
		}
	}
}
