package probe

import (
	"testing"

	"golang.org/x/net/ipv4"
)

// FuzzParseReply: whatever arrives on the raw socket, ParseReply returns
// a Reply or an error, never panics; what it accepts is consistent.
func FuzzParseReply(f *testing.F) {
	req := EchoRequest(0x1234, 7, make([]byte, 56))
	f.Add(echoReply(req))
	f.Add(req)
	f.Add(icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, target, req))
	f.Add(icmpError(ipv4.ICMPTypeDestinationUnreachable, 3, me, target, req))
	f.Add(icmpError(ipv4.ICMPTypeTimeExceeded, 0, me, target, req)[:30])
	f.Add([]byte{})
	f.Add([]byte{3, 1, 0, 0, 0, 0, 0, 0, 0x4f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReply(b)
		if err != nil {
			if r != (Reply{}) {
				t.Fatalf("error %v with a reply %+v", err, r)
			}
			return
		}
		switch r.Kind {
		case EchoReply:
			if r.Dst.IsValid() || b[0] != 0 {
				t.Fatalf("echo reply %+v from type %d", r, b[0])
			}
		case TimeExceeded, Unreachable:
			if !r.Dst.Is4() {
				t.Fatalf("error reply without the quoted destination: %+v", r)
			}
		default:
			t.Fatalf("kind %d", r.Kind)
		}
	})
}
