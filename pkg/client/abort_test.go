package client

import "testing"

// TestAbortPoints: which PPP frames reach each abort point, with and
// without the address/control field (RFC 1662 §3.2; ACFC drops it) and
// with a compressed protocol field where the protocol allows it.
func TestAbortPoints(t *testing.T) {
	tests := []struct {
		name       string
		frame      []byte
		send, recv Abort // the point sending / receiving the frame reaches
	}{
		{"LCP Configure-Request", []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, AbortNone, AbortMidLCP},
		{"LCP Configure-Request without ACF", []byte{0xc0, 0x21, 1, 1, 0, 4}, AbortNone, AbortMidLCP},
		{"LCP Configure-Ack", []byte{0xc0, 0x21, 2, 1, 0, 4}, AbortNone, AbortNone},
		{"CHAP Response", []byte{0xc2, 0x23, 2, 7, 0, 4}, AbortMidAuth, AbortNone},
		{"CHAP Challenge", []byte{0xc2, 0x23, 1, 7, 0, 4}, AbortNone, AbortNone},
		{"PAP Authenticate-Request", []byte{0xff, 0x03, 0xc0, 0x23, 1, 1, 0, 4}, AbortMidAuth, AbortNone},
		{"CCP Configure-Request", []byte{0x80, 0xfd, 1, 1, 0, 4}, AbortMidCCP, AbortNone},
		{"CCP Configure-Ack", []byte{0x80, 0xfd, 2, 1, 0, 4}, AbortNone, AbortNone},
		{"IPCP Configure-Request", []byte{0x80, 0x21, 1, 1, 0, 4}, AbortNone, AbortNone},
		{"IP, compressed protocol field", []byte{0x21, 0x45, 0}, AbortNone, AbortNone},
		{"protocol only", []byte{0xc0, 0x21}, AbortNone, AbortNone},
		{"empty", nil, AbortNone, AbortNone},
	}
	for _, tc := range tests {
		for _, a := range Aborts {
			if got := abortOnSend(a, tc.frame); got != (a == tc.send) {
				t.Errorf("%s: sending reaches %v: %v", tc.name, a, got)
			}
			if got := abortOnReceive(a, tc.frame); got != (a == tc.recv) {
				t.Errorf("%s: receiving reaches %v: %v", tc.name, a, got)
			}
		}
	}
	want := []string{"none", "after-sccrq", "mid-lcp", "mid-auth", "mid-ccp"}
	for i, a := range append([]Abort{AbortNone}, Aborts...) {
		if a.String() != want[i] {
			t.Errorf("Abort(%d) is %q, want %q", int(a), a, want[i])
		}
	}
}
