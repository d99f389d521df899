package pptp

import "testing"

// TestMaxCallsPerConnection: with Config.MaxCalls = 1 a second Outgoing-
// Call-Request on the same control connection is answered Do-Not-Accept
// (RFC 2637 §2.8 result 7) without reaching the Handler, and counted; once
// the first call is cleared, a new one is accepted. Without the cap (issue
// 14 item 2) one connection opened 191 calls.
func TestMaxCallsPerConnection(t *testing.T) {
	srvH := newRecorder()
	p := newPair(t, srvH, Config{MaxCalls: 1})
	r, err := p.cli.OutgoingCall(ctx5(t), 1)
	if err != nil || r.Result != OutgoingConnected {
		t.Fatalf("first call: %+v, %v", r, err)
	}
	for i := uint16(2); i < 5; i++ {
		r2, err := p.cli.OutgoingCall(ctx5(t), i)
		if err == nil || r2 == nil || r2.Result != OutgoingDoNotAccept {
			t.Fatalf("call %d over the cap: %+v, %v", i, r2, err)
		}
	}
	ctr := p.srv.Counters()
	if n, m := ctr.CallsOverLimit.Load(), ctr.CallsRefused.Load(); n != 3 || m != 3 {
		t.Errorf("CallsOverLimit = %d, CallsRefused = %d, want 3, 3", n, m)
	}
	if ev := srvH.Events(); len(ev) != 1 {
		t.Errorf("handler saw %d calls, want 1: %v", len(ev), ev)
	}
	if err := p.cli.ClearCall(ctx5(t), 1); err != nil {
		t.Fatal(err)
	}
	srvH.waitCleared(t, r.CallID)
	if r, err := p.cli.OutgoingCall(ctx5(t), 9); err != nil || r.Result != OutgoingConnected {
		t.Fatalf("call after the first was cleared: %+v, %v", r, err)
	}
}

// TestMaxCallsZeroIsUnlimited: the library default places no cap.
func TestMaxCallsZeroIsUnlimited(t *testing.T) {
	p := newPair(t, newRecorder(), Config{})
	for i := uint16(1); i <= 20; i++ {
		if r, err := p.cli.OutgoingCall(ctx5(t), i); err != nil || r.Result != OutgoingConnected {
			t.Fatalf("call %d: %+v, %v", i, r, err)
		}
	}
}
