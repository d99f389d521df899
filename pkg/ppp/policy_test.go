package ppp

import "testing"

// TestParseMPPEPolicy: each pptp.mppe spelling gives its policy; "allow"
// sets Allowed (without it CCP was rejected and every "allow" link came up
// in cleartext); mppe_stateful accepts stateful and mppe_prefer_stateful
// asks for it too (see qemu/e2e/stateful_test.go for what pppd does with
// each).
func TestParseMPPEPolicy(t *testing.T) {
	req128 := MPPEPolicy{Required: true, Bits128: true}
	accept, prefer := req128, req128
	accept.AllowStateful = true
	prefer.AllowStateful, prefer.PreferStateful = true, true
	tests := []struct {
		mppe             string
		stateful, prefer bool
		want             MPPEPolicy
	}{
		{"require-128", false, false, req128},
		{"require-128", true, false, accept},
		{"require-128", false, true, prefer},
		{"require-128", true, true, prefer},
		{"require", false, false, MPPEPolicy{Required: true, Bits40: true, Bits56: true, Bits128: true}},
		{"allow", false, false, MPPEPolicy{Allowed: true, Bits40: true, Bits56: true, Bits128: true}},
		{"off", false, false, MPPEPolicy{}},
		{"off", true, false, MPPEPolicy{AllowStateful: true}},
	}
	for _, tc := range tests {
		got, ok := ParseMPPEPolicy(tc.mppe, tc.stateful, tc.prefer)
		if !ok || got != tc.want {
			t.Errorf("ParseMPPEPolicy(%q, %v, %v) = %+v, %v; want %+v", tc.mppe, tc.stateful, tc.prefer, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "on", "require-40", "Allow"} {
		if got, ok := ParseMPPEPolicy(bad, true, true); ok || got != (MPPEPolicy{}) {
			t.Errorf("ParseMPPEPolicy(%q) = %+v, %v; want zero, false", bad, got, ok)
		}
	}
}
