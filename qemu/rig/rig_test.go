package rig

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/gre"
)

// TestDefaultConfigLoads checks the bench's config against boxd's own
// loader: a key boxd no longer knows, or a router section that would make
// boxd manage the namespace's links, fails here instead of in QEMU.
func TestDefaultConfigLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "box.toml")
	if err := os.WriteFile(path, []byte(DefaultConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.PPTP
	if !p.Enabled || p.LocalAddr() != LocalIP || p.RemoteIP != Pool || p.MPPE != "require-128" || p.Listen != BoxAddr.String()+":1723" {
		t.Errorf("pptp section: %+v", p)
	}
	if d := p.DNSAddrs(); len(d) != 2 || d[0] != DNS[0] || d[1] != DNS[1] {
		t.Errorf("dns: %v", d)
	}
	if cfg.RouterEnabled() {
		t.Error("the bench config enables the router")
	}
	if len(cfg.Users) != 1 || cfg.Users[0].Name != User || cfg.Users[0].Password != Password {
		t.Errorf("users: %+v", cfg.Users)
	}
}

func TestRouterConfigLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "box.toml")
	if err := os.WriteFile(path, []byte(RouterConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RouterEnabled() || cfg.WAN.Interface != "tap0" || cfg.WAN.Mode != "static" || cfg.LAN.Interface != "lan0" || cfg.LAN.DHCP.Enabled {
		t.Errorf("router sections: wan %+v lan %+v", cfg.WAN, cfg.LAN)
	}
}

func TestClientFiles(t *testing.T) {
	tests := []struct {
		name  string
		c     Client
		want  []string
		avoid []string
	}{
		{"default", Client{User: "test", Password: "p w"},
			[]string{"pty \"pptp 192.0.2.1 --nolaunchpppd\"\n", "name test\n", "remotename PPTP\n", "require-mppe-128\n",
				"file /etc/ppp/options.pptp\n", "linkname box\n", "usepeerdns\n", "logfile /tmp/ppp-box.log\n"},
			[]string{"nomppe", "dump"}},
		{"nomppe with dump", Client{Peer: "plain", Server: netip.MustParseAddr("192.0.2.3"), User: "u", NoMPPE: true, Dump: true},
			[]string{"pty \"pptp 192.0.2.3 --nolaunchpppd\"\n", "nomppe\n", "dump\n", "linkname plain\n", "logfile /tmp/ppp-plain.log\n"},
			[]string{"require-mppe"}},
		{"pppd's default MPPE", Client{User: "u", DefaultMPPE: true},
			[]string{"remotename PPTP\nfile /etc/ppp/options.pptp\n"},
			[]string{"mppe"}},
		{"extra options", Client{User: "u", Extra: []string{"mppe-stateful", "mru 1200"}},
			[]string{"require-mppe-128\n", "mppe-stateful\n", "mru 1200\n"},
			[]string{"nomppe"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pf := tc.c.PeersFile()
			for _, w := range tc.want {
				if !strings.Contains(pf, w) {
					t.Errorf("peers file lacks %q:\n%s", w, pf)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(pf, a) {
					t.Errorf("peers file has %q:\n%s", a, pf)
				}
			}
		})
	}
	if got := (Client{User: "test", Password: "test.test"}).ChapSecrets(); !strings.Contains(got, "test\tPPTP\t\"test.test\"\t*\n") {
		t.Errorf("chap-secrets: %q", got)
	}
	for _, opt := range []string{"refuse-pap", "refuse-chap", "refuse-mschap", "noauth", "nobsdcomp", "nodeflate"} {
		if !strings.Contains(OptionsPPTP, opt+"\n") {
			t.Errorf("options.pptp lacks %s", opt)
		}
	}
}

// TestSCCRQ checks the storm's reference message against RFC 2637 §2.1's
// layout, all fields in network byte order.
func TestSCCRQ(t *testing.T) {
	b := sccrq()
	if len(b) != lenSCCRQ {
		t.Fatalf("length %d", len(b))
	}
	want := []byte{0x00, 0x9c, 0x00, 0x01, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00}
	if !bytes.Equal(b[:14], want) {
		t.Errorf("header % x, want % x", b[:14], want)
	}
}

// TestGREJunk cross-checks the storm's GRE packets with pkg/gre's parser:
// the storm must contain both packets boxd has to parse and demultiplex
// (and then drop for their unknown call) and packets it has to reject, and
// any packet that parses carries the call ID it was built with.
func TestGREJunk(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	parsed, rejected := 0, 0
	for i := 0; i < 2000; i++ {
		id := uint16(r.Uint32())
		h, _, err := gre.Parse(greJunk(r, id))
		if err != nil {
			rejected++
			continue
		}
		parsed++
		if h.CallID != id {
			t.Fatalf("packet built for call %d parsed as call %d", id, h.CallID)
		}
	}
	if parsed < 100 || rejected < 100 {
		t.Errorf("storm mix: %d parse, %d rejected; want plenty of both", parsed, rejected)
	}
}

func TestControlJunk(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	junk := controlJunk(r)
	if len(junk) < 10 {
		t.Fatalf("only %d control cases", len(junk))
	}
	for i, j := range junk {
		if len(j) == 0 {
			t.Errorf("case %d is empty", i)
		}
	}
}

func TestIPv4GRE(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1")
	p := ipv4GRE(src, dst, []byte{1, 2, 3})
	if len(p) != 23 || p[0] != 0x45 || p[9] != ipProtoGRE || binary.BigEndian.Uint16(p[2:]) != 23 {
		t.Fatalf("header % x", p[:20])
	}
	if netip.AddrFrom4([4]byte(p[12:16])) != src || netip.AddrFrom4([4]byte(p[16:20])) != dst {
		t.Errorf("addresses % x", p[12:20])
	}
}
