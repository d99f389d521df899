package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"weak"

	"github.com/pptpbox/pptpbox/internal/lograte"
	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// What one peer may hold before it has logged in (issue 14 items 1, 2):
// control connections in total and per source address, calls per control
// connection, calls per source whose link is not up yet, and deadlines for
// the Start-Control-Connection-Request and for the login. Every refusal is
// counted (LimitCounters, `boxctl stats`) and logged at most once a second
// per reason with the number of lines left out.

// Defaults for Config.StartTimeout and Config.LoginTimeout when zero.
const (
	// pptpd's stimeout default: a real client sends SCCRQ right after
	// the TCP handshake.
	defaultStartTimeout = 10 * time.Second
	// LCP restarts every 3 s (RFC 1661) and a RADIUS server may take a
	// few seconds; a login that is not through in 30 s will not be.
	defaultLoginTimeout = 30 * time.Second
)

// Backoff of the accept loop after a temporary error, as net/http's
// Server.Serve: 5 ms, doubling, at most 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// LimitCounters count what the limits refused (StatsSnapshot.Limits).
type LimitCounters struct {
	// Control connections closed right after accept: max_connections
	// reached, or max_connections_per_source for the peer's address.
	ConnsRefusedGlobal    uint64 `json:"conns_refused_global"`
	ConnsRefusedPerSource uint64 `json:"conns_refused_per_source"`
	// AcceptErrors are temporary accept failures (EMFILE, ENFILE,
	// ENOBUFS, ...), each retried after a backoff.
	AcceptErrors uint64 `json:"accept_errors"`
	// Calls refused: a second call on one control connection
	// (max_calls_per_connection), and over the per-source budget of
	// calls not logged in (max_unauthenticated_per_source).
	CallsRefusedPerConn uint64 `json:"calls_refused_per_conn"`
	CallsRefusedUnauth  uint64 `json:"calls_refused_unauth"`
	// LoginTimeouts are calls ended because their link was not up within
	// login_timeout.
	LoginTimeouts uint64 `json:"login_timeouts"`
	// ConnsOpen is how many control connections hold a slot now, and
	// MaxConns the cap (0: none).
	ConnsOpen int `json:"conns_open"`
	MaxConns  int `json:"max_conns"`
}

// limits is the server's admission state for control connections.
type limits struct {
	mu        sync.Mutex
	open      int
	perSource map[netip.Addr]int

	connsRefusedGlobal, connsRefusedPerSource atomic.Uint64
	acceptErrors                              atomic.Uint64
	callsRefusedUnauth, loginTimeouts         atomic.Uint64

	logGlobal, logPerSource, logAccept, logUnauth, logLogin lograte.Limiter
	logGuard                                                lograte.Limiter // refuseGuarded (authguard.go)
}

func limitDefaults(cfg *Config) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = defaultStartTimeout
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = defaultLoginTimeout
	}
}

// sourceKey is the address a per-source limit counts under: the IPv4
// address, or an IPv6 address's /64 (one subscriber's prefix: an attacker
// holds the whole of it).
func sourceKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func remoteAddr(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr()
	}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		return ap.Addr()
	}
	return netip.Addr{}
}

// admitConn takes a connection slot for a peer at src, or says which cap
// refused it. release gives the slot back, once.
func (l *limits) admitConn(src netip.Addr, max, perSource int) (release func(), reason string, n int) {
	key := sourceKey(src)
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && l.open >= max {
		l.connsRefusedGlobal.Add(1)
		return nil, "global-cap", l.open
	}
	if perSource > 0 && l.perSource[key] >= perSource {
		l.connsRefusedPerSource.Add(1)
		return nil, "per-source-cap", l.perSource[key]
	}
	if l.perSource == nil {
		l.perSource = map[netip.Addr]int{}
	}
	l.open++
	l.perSource[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.open--
			if l.perSource[key]--; l.perSource[key] <= 0 {
				delete(l.perSource, key)
			}
			l.mu.Unlock()
		})
	}, "", 0
}

// temporaryAcceptError reports whether an Accept error may go away by
// itself: out of descriptors or memory, or a connection that failed
// between the handshake and accept (accept(2): "For reliable operation the
// application should detect the network errors defined for the protocol
// after accept() and treat them like EAGAIN by retrying").
func temporaryAcceptError(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
			syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
			syscall.EPROTO, syscall.ENOPROTOOPT, syscall.ENETDOWN, syscall.ENETUNREACH,
			syscall.EHOSTDOWN, syscall.EHOSTUNREACH, syscall.EOPNOTSUPP, syscall.EPERM,
			syscall.ETIMEDOUT:
			return true
		}
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// acceptLoop accepts control connections until ln is closed or ctx ends
// (then it returns nil). A temporary error is counted, logged (at most once
// a second) and retried after a backoff: before issue 14 one EMFILE ended
// the daemon. A connection over a cap is closed at once (with an RST: no
// TIME_WAIT left behind); an admitted one goes to serve with the function
// that frees its slot. Any other error is returned.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, serve func(nc net.Conn, release func())) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !temporaryAcceptError(err) {
				return fmt.Errorf("session: accept: %w", err)
			}
			s.lim.acceptErrors.Add(1)
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			if ok, n := s.lim.logAccept.Allow(time.Now()); ok {
				s.log.Warn("accept failed, retrying", "err", err, "retry_in", delay.String(), "accept_errors", s.lim.acceptErrors.Load(), "suppressed", n)
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		delay = 0
		src := remoteAddr(nc)
		release, reason, n := s.lim.admitConn(src, s.cfg.MaxConns, s.cfg.MaxConnsPerSource)
		if release == nil {
			lim, key := &s.lim.logGlobal, "max_connections"
			max := s.cfg.MaxConns
			if reason == "per-source-cap" {
				lim, key, max = &s.lim.logPerSource, "max_connections_per_source", s.cfg.MaxConnsPerSource
			}
			if ok, sup := lim.Allow(time.Now()); ok {
				s.log.Warn("control connection refused", "reason", reason, "peer", src.String(), "conns", n, key, max, "suppressed", sup)
			}
			if tc, ok := nc.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			nc.Close()
			continue
		}
		serve(nc, release)
	}
}

// admitCallLocked checks the per-source budget of calls not logged in yet
// before OutgoingCall makes a session; s.mu is held. s.unauth holds the
// count (countUnauthLocked), so a call request costs a map lookup rather
// than a scan of every call under the lock.
func (s *Server) admitCallLocked(c *pptp.Conn) error {
	max := s.cfg.MaxUnauthPerSource
	if max <= 0 {
		return nil
	}
	src := sourceKey(c.RemoteAddr().Addr())
	n := s.unauth[src]
	if n < max {
		return nil
	}
	s.lim.callsRefusedUnauth.Add(1)
	s.stats.CallsRefused.Add(1)
	if ok, sup := s.lim.logUnauth.Allow(time.Now()); ok {
		s.log.Warn("outgoing call refused", "reason", "unauthenticated-per-source-cap", "peer", src.String(),
			"calls", n, "max_unauthenticated_per_source", max, "suppressed", sup)
	}
	// General-Error/No-Resource (RFC 2637 §2.8): the budget frees up as
	// the source's logins complete or time out.
	return fmt.Errorf("%d calls from %s not logged in yet (max_unauthenticated_per_source %d): %w", n, src, max, pptp.ErrNoResource)
}

// countUnauthLocked counts a new call in s.unauth until its link comes up
// (loggedIn) or it is removed, whichever is first; s.mu is held.
func (s *Server) countUnauthLocked(ss *Session) {
	ss.unauthCounted = true
	s.unauth[sourceKey(ss.peer)]++
}

// uncountUnauthLocked takes ss out of s.unauth if it is still counted
// there; s.mu is held.
func (s *Server) uncountUnauthLocked(ss *Session) {
	if !ss.unauthCounted {
		return
	}
	ss.unauthCounted = false
	key := sourceKey(ss.peer)
	if s.unauth[key]--; s.unauth[key] <= 0 {
		delete(s.unauth, key)
	}
}

// loggedIn frees the unauthenticated-call slot of a session whose link
// came up (onUp).
func (s *Server) loggedIn(ss *Session) {
	s.mu.Lock()
	s.uncountUnauthLocked(ss)
	s.mu.Unlock()
}

// armLoginTimeout ends ss if its link is not up within LoginTimeout: LCP,
// authentication and IPCP, the part anyone can start without a password.
// The timer holds the session weakly, so an ended session is not kept
// in memory for the rest of the timeout.
func (s *Server) armLoginTimeout(ss *Session) {
	d := s.cfg.LoginTimeout
	wp := weak.Make(ss)
	id := ss.callID
	ss.loginTimer.Store(time.AfterFunc(d, func() {
		ss := wp.Value()
		if ss == nil || ss.wasUp.Load() || s.callByID(id) != ss {
			return
		}
		s.lim.loginTimeouts.Add(1)
		if ok, sup := s.lim.logLogin.Allow(time.Now()); ok {
			s.log.Warn("login timeout: ending the call", "peer", ss.peer.String(), "call", id,
				"login_timeout", d.String(), "login_timeouts", s.lim.loginTimeouts.Load(), "suppressed", sup)
		}
		// Hangup, not Close: a peer that has not logged in in time gets
		// no Terminate-Request exchange to hold its slot a few seconds
		// more; onDown still sends Call-Disconnect-Notify (RFC 2637 §2.9).
		ss.link.Hangup(fmt.Sprintf("login timeout: link not up within %s", d))
	}))
}

func (s *Server) limitCounters() LimitCounters {
	s.lim.mu.Lock()
	open := s.lim.open
	s.lim.mu.Unlock()
	return LimitCounters{
		ConnsRefusedGlobal:    s.lim.connsRefusedGlobal.Load(),
		ConnsRefusedPerSource: s.lim.connsRefusedPerSource.Load(),
		AcceptErrors:          s.lim.acceptErrors.Load(),
		CallsRefusedPerConn:   s.ctrlCounters.CallsOverLimit.Load(),
		CallsRefusedUnauth:    s.lim.callsRefusedUnauth.Load(),
		LoginTimeouts:         s.lim.loginTimeouts.Load(),
		ConnsOpen:             open,
		MaxConns:              s.cfg.MaxConns,
	}
}
