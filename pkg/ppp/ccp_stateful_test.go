package ppp

import (
	"testing"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// TestCCPStatefulPolicy: what CCP asks for and answers under the stateful
// policies, checked against pppd 2.4.9 in qemu/e2e/stateful_test.go. pppd
// always asks for stateless first (+H), even with mppe-stateful; without
// mppe-stateful it rejects a stateful request or Nak and closes the link.
// So AllowStateful alone (pppd's mppe-stateful) asks for stateless and
// accepts what the peer asks; PreferStateful asks for stateful and Naks
// the peer's stateless request once, which is how a pppd client with
// mppe-stateful ends up stateful in both directions.
func TestCCPStatefulPolicy(t *testing.T) {
	H, S := mppe.BitH, mppe.BitS
	allow := MPPEPolicy{Required: true, Bits128: true, AllowStateful: true}
	prefer := allow
	prefer.PreferStateful = true
	tests := []struct {
		name    string
		policy  MPPEPolicy
		wantReq mppe.Bits
		// the peer's successive Configure-Requests and our Naks to them
		reqs     []mppe.Bits
		wantNaks []mppe.Bits // 0: acknowledged
	}{
		{"allow: stateless asked, stateless acked", allow, H | S, []mppe.Bits{H | S}, []mppe.Bits{0}},
		{"allow: stateful acked", allow, H | S, []mppe.Bits{S}, []mppe.Bits{0}},
		{"prefer: stateless naked to stateful once", prefer, S, []mppe.Bits{H | S, S}, []mppe.Bits{S, 0}},
		{"prefer: a peer insisting on stateless gets it", prefer, S, []mppe.Bits{H | S, H | S}, []mppe.Bits{S, 0}},
		{"off: stateful naked to stateless", MPPEPolicy{Required: true, Bits128: true}, H | S, []mppe.Bits{S, H | S}, []mppe.Bits{H | S, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New(Config{Role: Server, MPPE: tc.policy})
			c := l.ccpL
			c.reset()
			if req := c.request(); len(req) != 1 || string(req[0].Value) != string(mppeOption(tc.wantReq).Value) {
				t.Errorf("request %v, want %v", req, []Option{mppeOption(tc.wantReq)})
			}
			for i, r := range tc.reqs {
				nak, rej := c.check([]Option{mppeOption(r)})
				if len(rej) != 0 {
					t.Fatalf("request %d (%v): rejected %v", i, r, rej)
				}
				var want []Option
				if tc.wantNaks[i] != 0 {
					want = []Option{mppeOption(tc.wantNaks[i])}
				}
				if string(AppendOptions(nil, nak)) != string(AppendOptions(nil, want)) {
					t.Errorf("request %d (%v): nak %v, want %v", i, r, nak, want)
				}
			}
		})
	}
}

// TestCCPDescribe: the mode in the session's MPPE line is that of both
// directions, and says so when they differ.
func TestCCPDescribe(t *testing.T) {
	H, S := mppe.BitH, mppe.BitS
	tests := []struct {
		ours, peers mppe.Bits // our receive and our send direction
		want        string
	}{
		{H | S, H | S, "MPPE 128-bit stateless"},
		{S, S, "MPPE 128-bit stateful"},
		{S, H | S, "MPPE 128-bit stateless send, stateful receive"},
		{H | S, S, "MPPE 128-bit stateful send, stateless receive"},
	}
	for _, tc := range tests {
		c := &ccpLayer{ourBits: tc.ours, peerBits: tc.peers}
		if got := c.describe(); got != tc.want {
			t.Errorf("describe(ours %v, peer's %v) = %q, want %q", tc.ours, tc.peers, got, tc.want)
		}
	}
}
