package main

import (
	"testing"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// TestMPPEPolicy: mppe_stateful is pppd's mppe-stateful (accept stateful,
// ask for stateless); asking for stateful takes mppe_prefer_stateful (see
// qemu/e2e/stateful_test.go for what pppd does with each).
func TestMPPEPolicy(t *testing.T) {
	req128 := ppp.MPPEPolicy{Required: true, Bits128: true}
	allow, prefer := req128, req128
	allow.AllowStateful = true
	prefer.AllowStateful, prefer.PreferStateful = true, true
	tests := []struct {
		name             string
		stateful, prefer bool
		want             ppp.MPPEPolicy
	}{
		{"default", false, false, req128},
		{"mppe_stateful", true, false, allow},
		{"mppe_prefer_stateful", false, true, prefer},
		{"both", true, true, prefer},
	}
	for _, tc := range tests {
		p := config.Default().PPTP
		p.MPPEStateful, p.MPPEPreferStateful = tc.stateful, tc.prefer
		if got := mppePolicy(&p); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
