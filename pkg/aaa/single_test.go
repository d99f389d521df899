package aaa

import "testing"

// TestParseSingleSession: each pptp.single_session spelling maps to its
// policy and back; anything else is an error.
func TestParseSingleSession(t *testing.T) {
	for _, p := range []SingleSession{SingleReplace, SingleDeny, SingleOff} {
		got, err := ParseSingleSession(p.String())
		if err != nil || got != p {
			t.Errorf("ParseSingleSession(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParseSingleSession("Replace"); err == nil {
		t.Error(`ParseSingleSession("Replace"): no error`)
	}
}
