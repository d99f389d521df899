package radius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"
)

// DAEConfig configures the Dynamic Authorization Extensions listener
// (RFC 5176): Disconnect-Requests from the RADIUS servers end sessions,
// CoA-Requests change them (coa.go).
type DAEConfig struct {
	// Clients are the addresses allowed to send requests (the configured
	// servers), each with its secret. Anything else is dropped.
	Clients map[netip.Addr][]byte
	// HangupCall ends the session with our call ID and reports whether
	// there was one; HangupUser ends every session of user and reports
	// how many. Both end them with Acct-Terminate-Cause Admin-Reset.
	HangupCall func(callID uint16) bool
	HangupUser func(user string) int
	// ChangeCall applies a CoA-Request's change to the session with our
	// call ID and reports whether there was one; ChangeUser to every
	// session of user, reporting how many. Nil: CoA-Requests are NAKed
	// with Unsupported-Service.
	ChangeCall func(callID uint16, c Change) bool
	ChangeUser func(user string, c Change) int
	// EventWindow is how far a request's Event-Timestamp may be from the
	// clock, either way, before the request is discarded as stale or
	// replayed (RFC 5176 §6.3); 0 means DefaultEventWindow, negative
	// checks none. Answers are kept for duplicates twice as long (a
	// request stays fresh that long after it arrives).
	EventWindow time.Duration
	// RequireEventTimestamp discards requests without an Event-Timestamp
	// (RFC 5176 §6.3: "SHOULD be configurable").
	RequireEventTimestamp bool
	// Now is the clock (nil: time.Now) and ClockFloor the earliest time
	// it can show once set (zero: ClockFloor()); before it, Event-
	// Timestamps are not checked.
	Now        func() time.Time
	ClockFloor time.Time
	Logger     *slog.Logger
}

// DefaultEventWindow is RFC 3576 §5.4's recommended window (RFC 5176 §6.3
// keeps the check, the "acceptable time window" left to configuration).
const DefaultEventWindow = 300 * time.Second

// DAEStats counts what the listener did. Dropped includes Stale (an
// Event-Timestamp outside the window) and NoTimestamp (none, when
// required).
type DAEStats struct {
	ACKs, NAKs, Dropped, Stale, NoTimestamp uint64
}

// daeCounters are the DAE counters; a Client's DAEs share them, and the
// Client's Stats show them (boxctl stats "radius").
type daeCounters struct {
	acks, naks, dropped, stale, noTimestamp atomic.Uint64
}

// DAE answers Disconnect-Requests for a Client's sessions.
type DAE struct {
	c   *Client
	cfg DAEConfig
	log *slog.Logger
	n   *daeCounters
	// window is the Event-Timestamp window (0: not checked) and dup how
	// long an answer is resent for a duplicate.
	window, dup time.Duration
	floor       time.Time

	// recent holds the last answers, so a retransmitted request (same
	// source, Identifier and authenticator: RFC 5176 §2.3, RFC 5080 §2.2.2)
	// gets the same answer instead of acting twice, and a replay within
	// the Event-Timestamp window acts on nothing either.
	mu     sync.Mutex
	recent [daeRecent]daeAnswer
	next   int
}

// daeRecent is how many answers are kept for retransmissions and replays:
// more than a server sends in a window (a replay of an answer pushed out
// acts again, if its Event-Timestamp is still in the window).
const daeRecent = 256

type daeAnswer struct {
	src  netip.Addr
	id   byte
	auth [16]byte
	at   time.Time
	out  []byte
}

// daeDupWindow is how long a kept answer is resent for a duplicate when
// Event-Timestamps are not checked.
const daeDupWindow = 30 * time.Second

// NewDAE makes the listener's logic for c's sessions.
func (c *Client) NewDAE(cfg DAEConfig) *DAE {
	if cfg.Logger == nil {
		cfg.Logger = c.log
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &DAE{c: c, cfg: cfg, log: cfg.Logger, n: &c.dae, window: cfg.EventWindow, dup: daeDupWindow, floor: cfg.ClockFloor}
	if d.window == 0 {
		d.window = DefaultEventWindow
	}
	if d.window < 0 {
		d.window = 0
	} else {
		// RFC 5176 §6.3: duplicates are detected for as long as a
		// request can pass the Event-Timestamp check. One stamped up to
		// a window ahead of the clock (a server whose clock is ahead)
		// stays fresh until two windows after it arrived.
		d.dup = max(2*d.window, daeDupWindow)
	}
	if d.floor.IsZero() {
		d.floor = ClockFloor()
	}
	return d
}

// Stats returns the counters (shared by the client's DAEs).
func (d *DAE) Stats() DAEStats { return d.n.stats() }

func (n *daeCounters) stats() DAEStats {
	return DAEStats{ACKs: n.acks.Load(), NAKs: n.naks.Load(), Dropped: n.dropped.Load(), Stale: n.stale.Load(), NoTimestamp: n.noTimestamp.Load()}
}

// Serve answers requests on conn until ctx ends (then it closes conn).
func (d *DAE) Serve(ctx context.Context, conn net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, radius.MaxPacketLength)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			continue
		}
		ua, _ := from.(*net.UDPAddr)
		var src netip.Addr
		if ua != nil {
			src = ua.AddrPort().Addr().Unmap()
		}
		if out := d.Handle(buf[:n], src); out != nil {
			conn.WriteTo(out, from)
		}
	}
}

// daeAttrs are the attributes a Disconnect-Request may carry here;
// anything else is NAKed with Unsupported-Attribute (RFC 5176 §3.5).
var daeAttrs = map[radius.Type]bool{
	rfc2865.UserName_Type: true, rfc2866.AcctSessionID_Type: true,
	rfc2865.NASIPAddress_Type: true, rfc2865.NASIdentifier_Type: true,
	rfc2865.NASPort_Type: true, rfc2865.CallingStationID_Type: true, rfc2865.FramedIPAddress_Type: true,
	rfc2869.EventTimestamp_Type: true, rfc2869.MessageAuthenticator_Type: true,
	rfc2865.ReplyMessage_Type: true, rfc2865.ProxyState_Type: true,
}

// Handle answers one request datagram from src: the response to send, or
// nil to drop it (unknown source, bad authenticators, not a request).
func (d *DAE) Handle(b []byte, src netip.Addr) []byte {
	secret, ok := d.cfg.Clients[src]
	if !ok {
		d.drop("request from an address that is not a configured server", src)
		return nil
	}
	p, err := radius.Parse(b, secret)
	if err != nil {
		d.drop(err.Error(), src)
		return nil
	}
	b = b[:int(b[2])<<8|int(b[3])]
	if err := checkRequestAuth(b, secret); err != nil {
		d.drop(err.Error(), src)
		return nil
	}
	if p.Code != radius.CodeDisconnectRequest && p.Code != radius.CodeCoARequest {
		d.drop(fmt.Sprintf("%v is not a dynamic authorization request", p.Code), src)
		return nil
	}
	if !d.fresh(p, src) {
		return nil
	}
	if out := d.duplicate(src, p); out != nil {
		return out
	}
	var code radius.Code
	var cause rfc3576.ErrorCause
	switch p.Code {
	case radius.CodeDisconnectRequest:
		code, cause = d.disconnect(p)
	case radius.CodeCoARequest:
		code, cause = d.coa(p)
	}
	resp := p.Response(code)
	if cause != 0 {
		rfc3576.ErrorCause_Set(resp, cause)
		d.n.naks.Add(1)
	} else {
		d.n.acks.Add(1)
	}
	// RFC 5176 §3.2: Proxy-State is copied into the response.
	for _, a := range p.Attributes {
		if a.Type == rfc2865.ProxyState_Type {
			resp.Add(rfc2865.ProxyState_Type, a.Attribute)
		}
	}
	out, err := encodeResponse(resp)
	if err != nil {
		d.log.Error("dae: encode response", "err", err)
		return nil
	}
	d.remember(src, p, out)
	d.log.Info("radius dynamic authorization", "from", src.String(), "request", p.Code.String(), "answer", code.String(),
		"user", rfc2865.UserName_GetString(p), "session_id", rfc2866.AcctSessionID_GetString(p), "error_cause", errorCauseString(cause))
	return out
}

func errorCauseString(c rfc3576.ErrorCause) string {
	if c == 0 {
		return ""
	}
	return c.String()
}

func (d *DAE) drop(why string, src netip.Addr, args ...any) {
	d.n.dropped.Add(1)
	d.log.Warn("dae: request dropped", append([]any{"from", src.String(), "reason", why}, args...)...)
}

// disconnect acts on a Disconnect-Request (RFC 5176 §3): the session is
// named by Acct-Session-Id, User-Name or both (then they must agree).
func (d *DAE) disconnect(p *radius.Packet) (radius.Code, rfc3576.ErrorCause) {
	nak := radius.CodeDisconnectNAK
	for _, a := range p.Attributes {
		if !daeAttrs[a.Type] {
			return nak, rfc3576.ErrorCause_Value_UnsupportedAttribute
		}
	}
	if cause := d.act(p, d.cfg.HangupCall, d.cfg.HangupUser); cause != 0 {
		return nak, cause
	}
	return radius.CodeDisconnectACK, 0
}

// act does a request's work on the session it names (RFC 5176 §3): by
// Acct-Session-Id, User-Name or both (then they must agree), through
// onCall (one session by our call ID) or onUser (all of a user's). The
// NAS-Identifier and NAS-IP-Address, when present, must be ours. It returns
// the Error-Cause of a NAK, 0 when it acted.
func (d *DAE) act(p *radius.Packet, onCall func(uint16) bool, onUser func(string) int) rfc3576.ErrorCause {
	cfg := &d.c.cfg
	if v, err := rfc2865.NASIdentifier_LookupString(p); err == nil && v != cfg.NASIdentifier {
		return rfc3576.ErrorCause_Value_NASIdentificationMismatch
	}
	if v, err := rfc2865.NASIPAddress_Lookup(p); err == nil {
		if a, _ := netip.AddrFromSlice(v.To4()); a != cfg.NASIP {
			return rfc3576.ErrorCause_Value_NASIdentificationMismatch
		}
	}
	id, idErr := rfc2866.AcctSessionID_LookupString(p)
	user, userErr := rfc2865.UserName_LookupString(p)
	switch {
	case idErr == nil:
		rec, ok := d.c.runningSession(id)
		if !ok || (userErr == nil && user != rec.User) || !onCall(rec.CallID) {
			return rfc3576.ErrorCause_Value_SessionContextNotFound
		}
	case userErr == nil:
		if onUser(user) == 0 {
			return rfc3576.ErrorCause_Value_SessionContextNotFound
		}
	default:
		return rfc3576.ErrorCause_Value_MissingAttribute
	}
	return 0
}

// checkRequestAuth checks a Disconnect- or CoA-Request's authenticators:
// the Request Authenticator is MD5 over the packet with 16 zero octets in
// its place, and the secret (RFC 5176 §3.5, as RFC 2866 §3); a
// Message-Authenticator, when present, is HMAC-MD5 over the packet with
// that field zeroed too.
func checkRequestAuth(b, secret []byte) error {
	c := append([]byte(nil), b...)
	clear(c[4:20])
	h := md5.New()
	h.Write(c)
	h.Write(secret)
	if !bytes.Equal(h.Sum(nil), b[4:20]) {
		return errors.New("bad request authenticator (wrong secret?)")
	}
	off := findAttr(c, byte(rfc2869.MessageAuthenticator_Type))
	if off < 0 {
		return nil
	}
	if c[off+1] != 2+md5.Size {
		return errors.New("malformed message-authenticator")
	}
	clear(c[off+2 : off+2+md5.Size])
	m := hmac.New(md5.New, secret)
	m.Write(c)
	if !hmac.Equal(m.Sum(nil), b[off+2:off+2+md5.Size]) {
		return errors.New("bad message-authenticator")
	}
	return nil
}

// duplicate returns the kept answer to a retransmission of p, or nil.
func (d *DAE) duplicate(src netip.Addr, p *radius.Packet) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	for _, a := range d.recent {
		if a.out != nil && a.src == src && a.id == p.Identifier && a.auth == p.Authenticator && now.Sub(a.at) < d.dup {
			return a.out
		}
	}
	return nil
}

func (d *DAE) remember(src netip.Addr, p *radius.Packet, out []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recent[d.next] = daeAnswer{src: src, id: p.Identifier, auth: p.Authenticator, at: d.cfg.Now(), out: out}
	d.next = (d.next + 1) % daeRecent
}
