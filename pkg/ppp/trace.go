package ppp

import (
	"fmt"
	"net/netip"
	"strings"
)

// Tracer receives the pppd-style lines of an operator's trace of this
// link (the console's `trace user`): Config.Tracer is set on a traced link
// and nil otherwise, so an untraced link pays one nil check per control
// packet and nothing on the data path. pkg/trace's *Call implements it.
type Tracer interface {
	// Tracing says whether lines are wanted now; nothing is formatted
	// unless it is true.
	Tracing() bool
	// Trace records one line: layer "lcp", "auth", "ccp", "ipcp" (and
	// "radius" from an Authenticator); dir "rcvd", "sent" or "" for a note.
	Trace(layer, dir, text string)
	// Identify gives the user name the peer authenticates as (server role):
	// a tracer that follows a user decides then whether the login is its.
	Identify(user string)
}

// tracing says whether the link's lines are wanted now.
func (l *Link) tracing() bool {
	t := l.cfg.Tracer
	return t != nil && t.Tracing()
}

// traceNote records a note of layer (call it after tracing()).
func (l *Link) traceNote(layer, text string) { l.cfg.Tracer.Trace(layer, "", text) }

// tracePacket records a control packet sent or received, as the debug log
// describes it (log.go: secrets masked).
func (l *Link) tracePacket(dir string, proto Proto, p Packet) {
	if l.tracing() {
		l.cfg.Tracer.Trace(traceLayer(proto), dir, describe(proto, p))
	}
}

// traceIdentify tells the tracer who the peer says it is.
func (l *Link) traceIdentify(user string) {
	if t := l.cfg.Tracer; t != nil {
		t.Identify(user)
	}
}

func traceLayer(p Proto) string {
	switch p {
	case ProtoLCP:
		return "lcp"
	case ProtoIPCP:
		return "ipcp"
	case ProtoCCP:
		return "ccp"
	case ProtoPAP, ProtoCHAP:
		return "auth"
	}
	return strings.ToLower(p.String())
}

// maskAuthResponse replaces the value of every "S=" (the authenticator
// response, RFC 2759 §5: 40 hex digits) with <hidden>.
func maskAuthResponse(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "S=")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + 2
		for j < len(s) && s[j] != ' ' {
			j++
		}
		b.WriteString(s[:i+2])
		b.WriteString("<hidden>")
		s = s[j:]
	}
}

// traceAuthFailed notes a refused login, and the authenticator's error
// (RADIUS unreachable) when there was one.
func (l *Link) traceAuthFailed(req *AuthRequest, err error) {
	if err != nil {
		l.traceNote("auth", fmt.Sprintf("%s: authenticator error for %q: %v", authLabel(l.auth.proto), req.User, err))
	}
	l.traceNote("auth", fmt.Sprintf("%s peer authentication failed for %q", authLabel(l.auth.proto), req.User))
}

// traceIPCPUp notes the addresses IPCP settled, as pppd logs them.
func (l *Link) traceIPCPUp(local, peer netip.Addr, dns [2]netip.Addr) {
	l.traceNote("ipcp", "local  IP address "+local.String())
	l.traceNote("ipcp", "remote IP address "+peer.String())
	for i, d := range dns {
		if d.Is4() && !d.IsUnspecified() {
			l.traceNote("ipcp", fmt.Sprintf("%s DNS address %v", [2]string{"primary  ", "secondary"}[i], d))
		}
	}
}
