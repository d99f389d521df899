// Package radius is a RADIUS client (RFC 2865, RFC 2866) that implements
// ppp.Authenticator and aaa.Accounting, on layeh.com/radius packets.
//
// Authentication (auth.go): one Access-Request per login with the
// protocol's attributes (PAP User-Password, CHAP-Password + CHAP-Challenge,
// RFC 2548 MS-CHAP-Challenge with MS-CHAP-Response or MS-CHAP2-Response),
// the NAS attributes and a Message-Authenticator (RFC 3579 §3.2). The
// Access-Accept's MS-CHAP2-Success, MS-MPPE-Send-Key/Recv-Key (RFC 2548
// §2.4.2, mppekey.go), Framed-IP-Address, Session-Timeout, Idle-Timeout,
// Class and Acct-Interim-Interval become the ppp.AuthResult.
//
// Accounting (acct.go): Start, Interim-Update and Stop per session,
// Accounting-On/Off for the NAS.
//
// Transport (this file): servers are asked in order; each gets Retries+1
// sends of the same packet (same Identifier) Timeout apart; a server that
// did not answer is skipped for DeadTime while another one might. Replies
// that fail any check (Identifier, Response Authenticator, Message-
// Authenticator, code) are dropped and counted, never believed. Packets
// (packet.go): requests and responses are signed with a Message-
// Authenticator and their authenticators, and replies checked there.
package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Server is one RADIUS server.
type Server struct {
	// Auth is the authentication address, host:port (port 1812).
	Auth string
	// Acct is the accounting address, host:port (port 1813); empty means
	// this server takes no accounting.
	Acct   string
	Secret []byte
}

// Config configures a Client.
type Config struct {
	Servers []Server
	// NASIdentifier (RFC 2865 §5.32) and NASIP (§5.4) name this NAS; at
	// least one is sent. With neither set, NAS-Identifier is "pptpbox".
	NASIdentifier string
	NASIP         netip.Addr
	// Source is the local address requests are sent from (the server
	// knows its clients by the source address); zero: the kernel's pick.
	Source netip.Addr
	// Timeout is the wait for a reply to one send (default 3s); Retries
	// is the number of resends to the same server (default 2).
	Timeout time.Duration
	Retries int
	// DeadTime is how long a server that did not answer is tried only
	// after the others (default 30s).
	DeadTime time.Duration
	// InterimInterval is the Interim-Update period when the Access-Accept
	// carries no Acct-Interim-Interval; 0 sends none.
	InterimInterval time.Duration
	// MinInterim is the floor on a server's Acct-Interim-Interval (RFC
	// 2869 §5.16 says it should not be below 600 s; default 60s).
	MinInterim time.Duration
	// AllowUnsignedReplies believes an Access-Accept, -Reject or
	// -Challenge without a Message-Authenticator ([radius]
	// require_message_authenticator = false). Off by default: such a
	// reply is what a Blast-RADIUS (CVE-2024-3596) forger produces.
	AllowUnsignedReplies bool
	// AcctQueueMax bounds the accounting queue (acctqueue.go; default
	// 10000 records); AcctRetryMax is the longest wait between tries of
	// a record no server answered (default 30s).
	AcctQueueMax int
	AcctRetryMax time.Duration
	// AcctSpool is the directory where unanswered Starts and Stops are
	// kept across restarts (spool.go); empty: none. AcctSpoolMax bounds
	// its files (default 1000).
	AcctSpool    string
	AcctSpoolMax int
	Logger       *slog.Logger
}

// Stats counts what the client saw.
type Stats struct {
	Requests    uint64 `json:"requests"`      // packets sent, resends included
	Timeouts    uint64 `json:"timeouts"`      // sends that got no valid reply in time
	BadReplies  uint64 `json:"bad_replies"`   // replies dropped by a check
	Accepts     uint64 `json:"accepts"`       // Access-Accept
	Rejects     uint64 `json:"rejects"`       // Access-Reject (and Access-Challenge)
	Unreachable uint64 `json:"unreachable"`   // requests no server answered
	AcctSent    uint64 `json:"acct_answered"` // Accounting-Requests answered
	AcctLost    uint64 `json:"acct_lost"`     // Accounting-Requests no server answered
	// UnsignedReplies are Access-Accept/Reject/Challenges dropped for
	// having no Message-Authenticator, BadMsgAuth replies dropped for a
	// wrong one (both are in BadReplies too).
	UnsignedReplies uint64 `json:"unsigned_replies"`
	BadMsgAuth      uint64 `json:"bad_message_authenticator"`
	// The Disconnect-Request listener's (dae.go): answers, and requests
	// dropped (any reason; stale: an Event-Timestamp outside the window;
	// no_event_timestamp: none while required).
	DAEACKs        uint64 `json:"dae_acks"`
	DAENAKs        uint64 `json:"dae_naks"`
	DAEDropped     uint64 `json:"dae_dropped"`
	DAEStale       uint64 `json:"dae_stale"`
	DAENoTimestamp uint64 `json:"dae_no_event_timestamp"`
	InFlight       int64  `json:"in_flight"` // requests waiting for a reply now (a gauge)
	// The accounting queue (acctqueue.go): records queued now, records in
	// the spool now (gauges); tries no server answered, Interim-Updates
	// dropped from a full queue, records not spooled for a full spool.
	AcctQueued     int64  `json:"acct_queued"`
	AcctSpooled    int64  `json:"acct_spooled"`
	AcctUnanswered uint64 `json:"acct_unanswered"`
	AcctDropped    uint64 `json:"acct_dropped"`
	AcctSpoolFull  uint64 `json:"acct_spool_full"`
}

// Client talks to the configured servers. Safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	dead []time.Time // per server: skipped until then
	// logins maps the results of accepted logins to their accounting
	// state until the session stops (acct.go).
	logins map[*ppp.AuthResult]*login
	// running maps the Acct-Session-Id of each started session to it.
	running map[string]*running
	// acctWG tracks queued accounting sends (Close waits for them).
	acctWG sync.WaitGroup
	// sessionSeq numbers Acct-Session-Ids after the start-time prefix.
	sessionSeq atomic.Uint64
	prefix     string

	requests, timeouts, badReplies, accepts, rejects, unreachable, acctSent, acctLost atomic.Uint64
	unsignedReplies, badMsgAuth                                                       atomic.Uint64
	dae                                                                               daeCounters
	inFlight                                                                          atomic.Int64
	servers                                                                           serverTable // per address (servers.go)
	// lat and acctPending are the monitoring figures of latency.go.
	lat         latency
	acctPending atomic.Int64
	// The accounting queue (acctqueue.go) and spool (spool.go).
	aq                                         acctQueue
	stopSend                                   chan struct{}
	stopOnce                                   sync.Once
	acctUnanswered, acctDropped, acctSpoolFull atomic.Uint64
	spoolMu                                    sync.Mutex
	spoolFiles                                 int
}

// ErrNoServer is wrapped by the error of a request no server answered.
var ErrNoServer = errors.New("no RADIUS server answered")

// New checks cfg and makes a client.
func New(cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("radius: no servers")
	}
	for i, s := range cfg.Servers {
		if len(s.Secret) == 0 {
			return nil, fmt.Errorf("radius: server %d (%s): empty secret", i+1, s.Auth)
		}
		if s.Auth == "" && s.Acct == "" {
			return nil, fmt.Errorf("radius: server %d: no address", i+1)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 2
	}
	if cfg.DeadTime <= 0 {
		cfg.DeadTime = 30 * time.Second
	}
	if cfg.MinInterim <= 0 {
		cfg.MinInterim = 60 * time.Second
	}
	if cfg.NASIdentifier == "" && !cfg.NASIP.IsValid() {
		cfg.NASIdentifier = "pptpbox"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AcctQueueMax <= 0 {
		cfg.AcctQueueMax = defaultAcctQueueMax
	}
	if cfg.AcctRetryMax <= 0 {
		cfg.AcctRetryMax = defaultAcctRetryMax
	}
	if cfg.AcctSpoolMax <= 0 {
		cfg.AcctSpoolMax = 1000
	}
	return &Client{
		aq:       acctQueue{wake: make(chan struct{}, 1), drained: make(chan struct{})},
		stopSend: make(chan struct{}),
		cfg:      cfg,
		log:      cfg.Logger,
		dead:     make([]time.Time, len(cfg.Servers)),
		logins:   map[*ppp.AuthResult]*login{},
		running:  map[string]*running{},
		prefix:   fmt.Sprintf("%08X", uint32(time.Now().Unix())),
	}, nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	st := Stats{
		Requests: c.requests.Load(), Timeouts: c.timeouts.Load(), BadReplies: c.badReplies.Load(),
		Accepts: c.accepts.Load(), Rejects: c.rejects.Load(), Unreachable: c.unreachable.Load(),
		AcctSent: c.acctSent.Load(), AcctLost: c.acctLost.Load(), InFlight: c.inFlight.Load(),
		UnsignedReplies: c.unsignedReplies.Load(), BadMsgAuth: c.badMsgAuth.Load(),
		AcctQueued: c.acctPending.Load(), AcctSpooled: int64(c.spooled()),
		AcctUnanswered: c.acctUnanswered.Load(), AcctDropped: c.acctDropped.Load(), AcctSpoolFull: c.acctSpoolFull.Load(),
	}
	d := c.dae.stats()
	st.DAEACKs, st.DAENAKs, st.DAEDropped, st.DAEStale, st.DAENoTimestamp = d.ACKs, d.NAKs, d.Dropped, d.Stale, d.NoTimestamp
	return st
}

// order is the servers to try: those not marked dead in configured order,
// then the dead ones (a dead server is still better than none).
func (c *Client) order(acct bool) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var live, dead []int
	for i, s := range c.cfg.Servers {
		if (acct && s.Acct == "") || (!acct && s.Auth == "") {
			continue
		}
		if now.Before(c.dead[i]) {
			dead = append(dead, i)
		} else {
			live = append(live, i)
		}
	}
	return append(live, dead...)
}

func (c *Client) markDead(i int, dead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dead {
		c.dead[i] = time.Now().Add(c.cfg.DeadTime)
	} else {
		c.dead[i] = time.Time{}
	}
}

// exchange sends the request build makes for each server in turn until one
// answers with a reply that passes every check. build is called once per
// server (the secret, and so the packet, differ).
func (c *Client) exchange(ctx context.Context, acct bool, build func(s *Server) (*radius.Packet, error)) (*radius.Packet, *radius.Packet, error) {
	order := c.order(acct)
	if len(order) == 0 {
		return nil, nil, fmt.Errorf("radius: %w: none configured for this", ErrNoServer)
	}
	var errs []error
	for _, i := range order {
		s := &c.cfg.Servers[i]
		addr := s.Auth
		if acct {
			addr = s.Acct
		}
		req, err := build(s)
		if err != nil {
			return nil, nil, err
		}
		wire, err := encodeRequest(req)
		if err != nil {
			return nil, nil, fmt.Errorf("radius: encode %v: %w", req.Code, err)
		}
		reply, err := c.roundTrip(ctx, addr, s.Secret, wire)
		if err == nil {
			c.markDead(i, false)
			return reply, req, nil
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("radius: %v to %s: %w", req.Code, addr, ctx.Err())
		}
		c.markDead(i, true)
		c.servers.failed(addr)
		c.log.Warn("radius server not answering", "server", addr, "code", req.Code.String(), "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	c.unreachable.Add(1)
	return nil, nil, fmt.Errorf("radius: %w: %w", ErrNoServer, errors.Join(errs...))
}

// roundTrip sends wire to addr up to Retries+1 times, Timeout apart, and
// returns the first valid reply. The same bytes are resent: same
// Identifier and authenticator, so the server can spot the duplicate
// (RFC 2865 §3, RFC 2866 §4.1 "Identifier").
func (c *Client) roundTrip(ctx context.Context, addr string, secret, wire []byte) (*radius.Packet, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	var d net.Dialer
	if c.cfg.Source.IsValid() {
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.cfg.Source, 0))
	}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, radius.MaxPacketLength)
	for try := 0; try <= c.cfg.Retries; try++ {
		c.requests.Add(1)
		c.servers.sent(addr)
		sentAt := time.Now()
		if _, err := conn.Write(wire); err != nil {
			// ICMP port unreachable from an earlier send shows here:
			// the server is down, no use waiting.
			return nil, err
		}
		deadline := time.Now().Add(c.cfg.Timeout)
		conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					c.timeouts.Add(1)
					c.servers.timedOut(addr)
					break
				}
				return nil, err
			}
			reply, err := checkReply(buf[:n], wire, secret, c.cfg.AllowUnsignedReplies)
			if err != nil {
				// Dropped as if it had not come: the wait goes on, then
				// the resend, then the next server (RFC 2865 §3: an
				// invalid response is silently discarded).
				c.badReplies.Add(1)
				reason := "check-failed"
				switch {
				case errors.Is(err, errNoMsgAuth):
					c.unsignedReplies.Add(1)
					reason = "no-message-authenticator"
				case errors.Is(err, errBadMsgAuth):
					c.badMsgAuth.Add(1)
					reason = "bad-message-authenticator"
				}
				c.log.Warn("radius reply dropped", "server", addr, "code", radius.Code(buf[0]).String(), "reason", reason, "err", err)
				continue
			}
			now := time.Now()
			c.servers.answered(addr, now.Sub(sentAt), now)
			c.lat.observe(now.Sub(sentAt))
			return reply, nil
		}
	}
	return nil, fmt.Errorf("no reply after %d sends, %v apart", c.cfg.Retries+1, c.cfg.Timeout)
}
