package config

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// TestPPTPParams: Validate parses every [pptp] key into PPTPParams, the
// only form boxd reads.
func TestPPTPParams(t *testing.T) {
	c, err := Parse("x.toml", []byte(`[pptp]
listen = "192.0.2.1:1723"
local_ip = "10.0.0.1"
remote_ip = "10.0.0.10-20, 10.0.1.0/30"
dns = ["192.0.2.53"]
auth = ["mschap", "mschapv2"]
mppe = "allow"
mppe_stateful = true
single_session = "deny"
echo_interval = "10s"
max_connections = 100
auth_fail_limit = 2
auth_fail_source_limit = 3
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.PPTPParams()
	pool, _ := ippool.ParseRanges("10.0.0.10-20,10.0.1.0/30")
	if p.Listen != "192.0.2.1:1723" || p.ListenPort != 1723 || p.ListenIP != netip.MustParseAddr("192.0.2.1") ||
		p.LocalIP != netip.MustParseAddr("10.0.0.1") || !slices.Equal(p.Pool, pool) ||
		p.DNS != [2]netip.Addr{netip.MustParseAddr("192.0.2.53")} {
		t.Errorf("addresses: %+v", p)
	}
	want := ppp.MPPEPolicy{Allowed: true, Bits40: true, Bits56: true, Bits128: true, AllowStateful: true}
	if !slices.Equal(p.Auth, []ppp.AuthProto{ppp.AuthMSCHAPv1, ppp.AuthMSCHAPv2}) || p.MPPE != want || p.SingleSession != aaa.SingleDeny {
		t.Errorf("auth %v mppe %+v single %v", p.Auth, p.MPPE, p.SingleSession)
	}
	if p.EchoInterval != 10*time.Second || p.MaxConns != 100 || p.MTU != 1400 || p.Tun != "pptp0" ||
		p.Guard.Limit != 2 || p.Guard.SourceLimit != 3 || p.Guard.MaxDelay != 30*time.Second {
		t.Errorf("plain keys: %+v", p)
	}
	if got := c.PPTP.DNSAddrs(); len(got) != 1 || got[0] != p.DNS[0] {
		t.Errorf("DNSAddrs %v", got)
	}
}

// TestPPTPParamsDefault: the built-in default carries its parsed [pptp]
// (the seed's MS-CHAPv2, MPPE-128 required, replace), without a Validate.
func TestPPTPParamsDefault(t *testing.T) {
	p := Default().PPTPParams()
	if p.ListenIP != netip.IPv4Unspecified() || p.LocalIP != netip.MustParseAddr("10.79.97.1") || len(p.Pool) != 1 ||
		!slices.Equal(p.Auth, []ppp.AuthProto{ppp.AuthMSCHAPv2}) || p.MPPE != (ppp.MPPEPolicy{Required: true, Bits128: true}) ||
		p.SingleSession != aaa.SingleReplace || p.DNS[1] != netip.MustParseAddr("8.8.4.4") {
		t.Errorf("default: %+v", p)
	}
}

// TestPPTPParamsMPPEKeys: mppe_stateful and mppe_prefer_stateful reach the
// policy beside mppe (ppp.ParseMPPEPolicy says what each means).
func TestPPTPParamsMPPEKeys(t *testing.T) {
	for _, tc := range []struct {
		keys string
		want ppp.MPPEPolicy
	}{
		{"", ppp.MPPEPolicy{Required: true, Bits128: true}},
		{"mppe_stateful = true", ppp.MPPEPolicy{Required: true, Bits128: true, AllowStateful: true}},
		{"mppe_prefer_stateful = true", ppp.MPPEPolicy{Required: true, Bits128: true, AllowStateful: true, PreferStateful: true}},
		{"mppe = \"off\"\nmppe_stateful = true", ppp.MPPEPolicy{AllowStateful: true}},
	} {
		c, err := Parse("x.toml", []byte("[pptp]\n"+tc.keys+"\n"))
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.keys, err)
		}
		if got := c.PPTPParams().MPPE; got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.keys, got, tc.want)
		}
	}
}
