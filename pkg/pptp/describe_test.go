package pptp

import (
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{&StartControlConnectionRequest{ProtocolVersion: ProtocolVersion, FramingCapabilities: FramingAsync | FramingSync, BearerCapabilities: BearerAnalog, HostName: "local", VendorName: "cananian"},
			`[SCCRQ ver=0x0100 framing=async,sync bearer=analog channels=0 firmware=0x0 host="local" vendor="cananian"]`},
		{&StartControlConnectionReply{ProtocolVersion: ProtocolVersion, Result: ControlOK, FramingCapabilities: 3, BearerCapabilities: 3, MaxChannels: 65535, HostName: "pptpbox", VendorName: "pptpbox"},
			`[SCCRP ver=0x0100 result=ok framing=async,sync bearer=analog,digital channels=65535 firmware=0x0 host="pptpbox" vendor="pptpbox"]`},
		{&OutgoingCallRequest{CallID: 0x1, CallSerialNumber: 2, MinBPS: 2400, MaxBPS: 10000000, BearerType: 3, FramingType: 3, RecvWindow: 64},
			`[OCRQ call=0x1 serial=2 bps=2400-10000000 bearer=3 framing=3 window=64 delay=0 phone=""]`},
		{&OutgoingCallReply{CallID: 0x2a, PeerCallID: 0x1, Result: OutgoingConnected, ConnectSpeed: 100000000, RecvWindow: 64},
			`[OCRP call=0x2a peer-call=0x1 result=connected cause=0 speed=100000000 window=64 delay=0]`},
		{&OutgoingCallReply{CallID: 0, PeerCallID: 0x1, Result: OutgoingGeneralError, Error: ErrorNoResource},
			`[OCRP call=0x0 peer-call=0x1 result=general-error error=no-resource cause=0 speed=0 window=0 delay=0]`},
		{&SetLinkInfo{PeerCallID: 0x2a, SendACCM: 0xffffffff, RecvACCM: 0xffffffff}, `[SLI peer-call=0x2a send-accm=0xffffffff recv-accm=0xffffffff]`},
		{&CallDisconnectNotify{CallID: 0x2a, Result: DisconnectAdminDown}, `[CDN call=0x2a result=admin-shutdown cause=0]`},
		{&CallClearRequest{CallID: 1}, `[CCRQ call=0x1]`},
		{&StopControlConnectionRequest{Reason: StopNone}, `[StopCCRQ reason=none]`},
		{&EchoRequest{Identifier: 7}, `[ECHORQ id=0x7]`},
		// A hostile host name cannot forge a second line on the screen.
		{&StartControlConnectionRequest{HostName: "x\n[LCP fake]\x1b[2J"}, `[SCCRQ ver=0x0000 framing=none bearer=none channels=0 firmware=0x0 host="x\n[LCP fake]\x1b[2J" vendor=""]`},
	}
	for _, tc := range tests {
		if got := Describe(tc.m); got != tc.want {
			t.Errorf("Describe = %s\n      want %s", got, tc.want)
		}
	}
}

// FuzzDescribe: every message that parses describes on one line, with
// no control character.
func FuzzDescribe(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		s := Describe(m)
		if !strings.HasPrefix(s, "["+ShortName(m.Type())) || !strings.HasSuffix(s, "]") {
			t.Fatalf("Describe = %q", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character %q in %q", r, s)
			}
		}
	})
}
