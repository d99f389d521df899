package ppp

import (
	"testing"
	"time"

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

// TestResetAckBeforeFlushedPacket: the answer to a CCP Reset-Request puts
// the Reset-Ack on the wire before the first flushed packet. Linux stops
// decrypting at its first error and starts again only when a Reset-Ack
// comes in (ppp_generic's SC_DC_ERROR): a flushed packet ahead of the Ack
// goes to pppd undecrypted and the resync is lost.
func TestResetAckBeforeFlushedPacket(t *testing.T) {
	scfg, ccfg := serverConfig(), clientConfig()
	scfg.MPPE.AllowStateful, scfg.MPPE.PreferStateful = true, true
	ccfg.MPPE.AllowStateful = true
	srv, _ := upPair(t, scfg, ccfg)
	mark := len(srv.frames())

	// A data packet goes out between the Reset-Request's handling and the
	// moment the link lock is released (when queued control frames leave).
	l := srv.link
	l.lock()
	l.ccpL.other(Packet{Code: CodeResetReq, ID: 7})
	if err := l.WriteIP(ipPacket(60, 1)); err != nil {
		l.unlock()
		t.Fatal(err)
	}
	l.unlock()
	// The Reset-Ack and the flush are handed to the wire after the lock is
	// released, on their own schedule: keep sending until a data packet
	// follows the Ack (the ones before it are simply not flushed yet).
	deadline := time.Now().Add(waitFor)
	for n := 2; time.Now().Before(deadline); n++ {
		if err := l.WriteIP(ipPacket(60, byte(n))); err != nil {
			t.Fatal(err)
		}
		if done := checkAckThenFlushed(t, srv.frames()[mark:]); done {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no Reset-Ack followed by a data packet among %d frames", len(srv.frames())-mark)
}

// checkAckThenFlushed fails t if a flushed packet precedes the Reset-Ack or
// the first data packet after it is not flushed; it reports whether a data
// packet followed the Ack.
func checkAckThenFlushed(t *testing.T, frames [][]byte) bool {
	t.Helper()
	ack := -1
	for i, f := range frames {
		proto, info, err := DecodeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case proto == ProtoCCP && len(info) > 0 && Code(info[0]) == CodeResetAck:
			ack = i
		case proto == ProtoCompDG && info[0]&mppe.FlagFlushed != 0 && ack < 0:
			t.Fatalf("frame %d: a flushed packet (count %#x) left before the Reset-Ack", i, uint16(info[0]&0x0F)<<8|uint16(info[1]))
		case proto == ProtoCompDG && ack >= 0:
			if info[0]&mppe.FlagFlushed == 0 {
				t.Fatalf("frame %d: the first packet after the Reset-Ack is not flushed", i)
			}
			return true
		}
	}
	return false
}

// TestResetReqDue: a Reset-Request goes out at once for a new gap, and is
// repeated for the same gap only after the interval, answered or not (the
// Reset-Ack may overtake the flushed packet still in flight).
func TestResetReqDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const iv = time.Second
	tests := []struct {
		name         string
		gap, lastGap uint64
		sent, now    time.Time
		want         bool
	}{
		{"first ever", 1, 0, time.Time{}, t0, true},
		{"new gap at once", 2, 1, t0, t0.Add(time.Millisecond), true},
		{"same gap too soon", 2, 2, t0, t0.Add(iv / 2), false},
		{"same gap repeated", 2, 2, t0, t0.Add(iv), true},
	}
	for _, tc := range tests {
		if got := resetReqDue(tc.gap, tc.lastGap, tc.sent, tc.now, iv); got != tc.want {
			t.Errorf("%s: resetReqDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}
