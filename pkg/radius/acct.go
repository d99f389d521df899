package radius

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// loginTTL bounds how long an accepted login waits for its session to
// start before its accounting state is dropped (the link went down
// between the Accept and IPCP).
const loginTTL = 10 * time.Minute

// running is a started session's accounting.
type running struct {
	l    *login
	rec  aaa.Record    // as at Start: user and call, for Disconnect-Request
	stop chan struct{} // closed by Stop: ends the interim updates
	// interim sends the Interim-Updates: a timer, not a goroutine, so
	// an idle session costs no stack. mu is held while one is sent and
	// by Stop, so none is sent after Stop.
	mu      sync.Mutex
	interim *time.Timer
}

// remember keeps l until res's session starts or loginTTL passes.
func (c *Client) remember(res *ppp.AuthResult, l *login) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for r, o := range c.logins {
		if o.started == nil && now.Sub(o.at) > loginTTL {
			delete(c.logins, r)
		}
	}
	c.logins[res] = l
}

// SessionID is the Acct-Session-Id of the login that returned res, "" when
// unknown (or already stopped).
func (c *Client) SessionID(res *ppp.AuthResult) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.logins[res]; l != nil {
		return l.sessionID
	}
	return ""
}

// running returns the started session with Acct-Session-Id id.
func (c *Client) runningSession(id string) (aaa.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.running[id]; r != nil {
		return r.rec, true
	}
	return aaa.Record{}, false
}

// Start implements aaa.Accounting: Accounting-Request Start now, then
// Interim-Update every Acct-Interim-Interval of the Accept (at least
// MinInterim) or InterimInterval.
func (c *Client) Start(r aaa.Record, snap func() aaa.Record) {
	c.mu.Lock()
	l := c.logins[r.Result]
	if l == nil || r.Result == nil {
		// Authenticated by something else (the local fallback): still
		// accounted, under a new session id.
		l = &login{sessionID: c.newSessionID(), user: r.User, at: time.Now(), local: true}
		if r.Result != nil {
			c.logins[r.Result] = l
		}
	}
	run := &running{l: l, rec: r, stop: make(chan struct{})}
	l.started = run
	c.running[l.sessionID] = run
	c.mu.Unlock()

	c.account(rfc2866.AcctStatusType_Value_Start, l, r)
	every := c.cfg.InterimInterval
	if l.interim > 0 {
		every = max(l.interim, c.cfg.MinInterim)
	}
	if every <= 0 {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	select {
	case <-run.stop: // Stop came first
		return
	default:
	}
	c.acctWG.Add(1) // Done by Stop
	run.interim = time.AfterFunc(every, func() {
		run.mu.Lock()
		defer run.mu.Unlock()
		select {
		case <-run.stop:
			return
		default:
		}
		c.account(rfc2866.AcctStatusType_Value_InterimUpdate, l, snap())
		run.interim.Reset(every)
	})
}

// Stop implements aaa.Accounting: Accounting-Request Stop with the
// final counters and the terminate cause.
func (c *Client) Stop(r aaa.Record) {
	c.mu.Lock()
	l := c.logins[r.Result]
	delete(c.logins, r.Result)
	if l != nil {
		delete(c.running, l.sessionID)
	}
	c.mu.Unlock()
	if l == nil || l.started == nil {
		c.log.Warn("radius accounting: stop for a session never started", "user", r.User)
		return
	}
	run := l.started
	close(run.stop)
	run.mu.Lock()
	interim := run.interim != nil
	if interim {
		run.interim.Stop()
	}
	run.mu.Unlock()
	c.account(rfc2866.AcctStatusType_Value_Stop, l, r)
	if interim {
		// After the Stop is queued (which may start the sender, counted
		// in acctWG too): Close's wait must not see zero in between.
		c.acctWG.Done()
	}
}

// AccountingOn sends Accounting-On (at start, RFC 2866 §5.1: the NAS has
// no sessions, so the server may close any it thinks are open) or
// Accounting-Off (at a clean stop).
func (c *Client) AccountingOn(ctx context.Context, on bool) error {
	st := rfc2866.AcctStatusType_Value_AccountingOff
	if on {
		st = rfc2866.AcctStatusType_Value_AccountingOn
	}
	_, _, err := c.exchange(ctx, true, func(s *Server) (*radius.Packet, error) {
		p := radius.New(radius.CodeAccountingRequest, s.Secret)
		rfc2866.AcctStatusType_Set(p, st)
		rfc2866.AcctSessionID_SetString(p, c.prefix+"00000000")
		if err := c.addNAS(p, netip.Addr{}); err != nil {
			return nil, err
		}
		return p, nil
	})
	if err != nil {
		c.acctLost.Add(1)
		return err
	}
	c.acctSent.Add(1)
	return nil
}

// account queues one Accounting-Request for a session (RFC 2866 §4.1),
// its event now.
func (c *Client) account(st rfc2866.AcctStatusType, l *login, r aaa.Record) {
	it := &acctItem{st: st, sessionID: l.sessionID, local: l.local, rec: r, event: time.Now()}
	if r.Result != nil {
		it.class = r.Result.Class
	}
	c.enqueue(it)
}

// acctBudget is the longest one accounting exchange may take: every
// server with all its resends.
func (c *Client) acctBudget() time.Duration {
	return time.Duration(len(c.cfg.Servers)*(c.cfg.Retries+1))*c.cfg.Timeout + time.Second
}

// clockSet reports whether t is from a set clock: the rule of the
// Disconnect checks (dae_time.go, docs/config.md "Event-Timestamp and the
// clock"): not before ClockFloor. A box without an RTC starts near 1970
// until SNTP (pkg/clock) sets the clock; its records carry no
// Event-Timestamp then (Acct-Delay-Time, a difference, is right either
// way). An event is judged by when it happened: a Stop queued before the
// clock was set goes without one even when sent after.
func clockSet(t time.Time) bool { return !t.Before(ClockFloor()) }

// acctRequest builds it's Accounting-Request as sent at now: Acct-Delay-
// Time is how long ago the event was (RFC 2866 §5.2), Event-Timestamp
// (RFC 2869 §5.3) when it was, once the clock is set.
func (c *Client) acctRequest(secret []byte, it *acctItem, now time.Time) (*radius.Packet, error) {
	st, r := it.st, it.rec
	p := radius.New(radius.CodeAccountingRequest, secret)
	rfc2866.AcctStatusType_Set(p, st)
	rfc2866.AcctSessionID_SetString(p, it.sessionID)
	if err := rfc2865.UserName_SetString(p, r.User); err != nil {
		return nil, fmt.Errorf("radius: user-name: %w", err)
	}
	if err := c.addNAS(p, r.Peer); err != nil {
		return nil, err
	}
	rfc2865.NASPort_Set(p, rfc2865.NASPort(r.CallID))
	if r.IP.Is4() {
		rfc2865.FramedIPAddress_Set(p, net.IP(r.IP.AsSlice()))
	}
	auth := rfc2866.AcctAuthentic_Value_RADIUS
	if it.local {
		auth = rfc2866.AcctAuthentic_Value_Local
	}
	rfc2866.AcctAuthentic_Set(p, auth)
	// RFC 2865 §5.25: Class is sent back unmodified.
	for _, cl := range it.class {
		if err := rfc2865.Class_Add(p, cl); err != nil {
			return nil, fmt.Errorf("radius: class: %w", err)
		}
	}
	if d := now.Sub(it.event); d >= time.Second {
		rfc2866.AcctDelayTime_Set(p, rfc2866.AcctDelayTime(uint32(min(d/time.Second, 1<<32-1))))
	}
	if clockSet(it.event) {
		if err := rfc2869.EventTimestamp_Set(p, it.event); err != nil {
			return nil, fmt.Errorf("radius: event-timestamp: %w", err)
		}
	}
	if st != rfc2866.AcctStatusType_Value_Start {
		// RFC 2866 §5.3-5.8, RFC 2869 §5.1/5.2: octets in 32 bits plus
		// the number of times they wrapped.
		rfc2866.AcctInputOctets_Set(p, rfc2866.AcctInputOctets(uint32(r.BytesIn)))
		rfc2869.AcctInputGigawords_Set(p, rfc2869.AcctInputGigawords(uint32(r.BytesIn>>32)))
		rfc2866.AcctOutputOctets_Set(p, rfc2866.AcctOutputOctets(uint32(r.BytesOut)))
		rfc2869.AcctOutputGigawords_Set(p, rfc2869.AcctOutputGigawords(uint32(r.BytesOut>>32)))
		rfc2866.AcctInputPackets_Set(p, rfc2866.AcctInputPackets(uint32(r.PktsIn)))
		rfc2866.AcctOutputPackets_Set(p, rfc2866.AcctOutputPackets(uint32(r.PktsOut)))
		rfc2866.AcctSessionTime_Set(p, rfc2866.AcctSessionTime(r.Time/time.Second))
	}
	if st == rfc2866.AcctStatusType_Value_Stop {
		rfc2866.AcctTerminateCause_Set(p, rfc2866.AcctTerminateCause(r.Cause))
	}
	return p, nil
}
