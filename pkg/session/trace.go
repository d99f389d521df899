package session

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
	"github.com/pptpbox/pptpbox/pkg/trace"
)

// Tracing: the server owns a trace.Hub (the console's `trace user` and
// `trace peer` subscribe to it through Trace). A control connection
// accepted while somebody traces gets a *trace.Call, which its pptp.Conn
// and then its call's ppp.Link (and through the AuthRequest, the
// authenticators) write into; otherwise everything holds nil and nothing
// is formatted. The data path is never traced: the session's end notes a
// summary of its packets.

// Trace is the server's trace hub.
func (s *Server) Trace() *trace.Hub { return s.trace }

// connTracer is the tracer of a control connection from nc's peer, nil
// when nobody traces.
func (s *Server) connTracer(nc net.Conn) pptp.Tracer {
	if !s.trace.Enabled() {
		return nil
	}
	var peer netip.Addr
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		peer = ta.AddrPort().Addr().Unmap()
	}
	if tc := s.trace.Open(peer); tc != nil {
		return tc
	}
	return nil
}

// callTrace is the trace of a new call id on c: the connection's own when
// it is the connection's first call, else one of its own; nil when nobody
// traces.
func (s *Server) callTrace(c *pptp.Conn, id uint16) *trace.Call {
	if !s.trace.Enabled() {
		return nil
	}
	if tc, ok := c.Tracer().(*trace.Call); ok && tc.Claim(id) {
		return tc
	}
	tc := s.trace.Open(c.RemoteAddr().Addr())
	tc.Claim(id)
	return tc
}

// pppTracer is ss's trace as the link's Tracer (a nil interface, not a nil
// pointer, when untraced).
func (ss *Session) pppTracer() ppp.Tracer {
	if ss.trace == nil {
		return nil
	}
	return ss.trace
}

// traceUp notes the session up.
func (ss *Session) traceUp(info ppp.UpInfo, mppe string) {
	if !ss.trace.Tracing() {
		return
	}
	if mppe == "none" {
		mppe = "no MPPE"
	}
	ss.trace.Trace("session", "", fmt.Sprintf("session up: user %q, address %v, auth %v, %s", info.User, info.Peer, info.Auth, mppe))
	if res := info.Result; res != nil && (res.SessionTimeout > 0 || res.IdleTimeout > 0) {
		ss.trace.Trace("session", "", fmt.Sprintf("limits: session-timeout %v idle-timeout %v", res.SessionTimeout, res.IdleTimeout))
	}
}

// traceDown notes the session's end, with a summary of its data packets.
func (ss *Session) traceDown(reason string) {
	if !ss.trace.Tracing() {
		return
	}
	cause := ""
	if ss.wasUp.Load() {
		// The Acct-Terminate-Cause accounting reports (a login that never
		// came up has none).
		cause = fmt.Sprintf(" (cause %v)", ss.causeOf(reason))
	}
	ss.trace.Trace("session", "", fmt.Sprintf("session down: %s%s after %v; in %d bytes %d packets, out %d bytes %d packets",
		reason, cause, time.Since(ss.started).Round(time.Millisecond),
		ss.bytesIn.Load(), ss.pktsIn.Load(), ss.bytesOut.Load(), ss.pktsOut.Load()))
}
