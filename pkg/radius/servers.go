package radius

import (
	"sync"
	"time"
)

// ServerState is one server address as the client saw it: an operator's
// "show radius" line.
type ServerState struct {
	Address string // host:port as configured
	Auth    bool   // takes Access-Requests
	Acct    bool   // takes Accounting-Requests
	// Up: the last request sent there was answered (by a reply that passed
	// every check). False too when nothing was asked yet (Requests 0).
	Up       bool
	LastRTT  time.Duration // of the last answer: from its last send to the reply
	AvgRTT   time.Duration // smoothed (RFC 6298's SRTT, gain 1/8)
	Requests uint64        // packets sent, resends included
	Timeouts uint64        // sends that got no valid reply in time
	LastSeen time.Time     // the last answer (zero: never)
}

// serverTable keeps the state of each server address; the zero value is
// ready to use.
type serverTable struct {
	mu sync.Mutex
	by map[string]*ServerState
}

func (t *serverTable) update(addr string, f func(*ServerState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.by == nil {
		t.by = map[string]*ServerState{}
	}
	s := t.by[addr]
	if s == nil {
		s = &ServerState{Address: addr}
		t.by[addr] = s
	}
	f(s)
}

func (t *serverTable) sent(addr string) { t.update(addr, func(s *ServerState) { s.Requests++ }) }

func (t *serverTable) timedOut(addr string) { t.update(addr, func(s *ServerState) { s.Timeouts++ }) }

// answered records a valid reply rtt after the send it answers.
func (t *serverTable) answered(addr string, rtt time.Duration, now time.Time) {
	t.update(addr, func(s *ServerState) {
		if s.LastSeen.IsZero() {
			s.AvgRTT = rtt
		} else {
			s.AvgRTT += (rtt - s.AvgRTT) / 8
		}
		s.Up, s.LastRTT, s.LastSeen = true, rtt, now
	})
}

// failed records a request the server left unanswered (every send).
func (t *serverTable) failed(addr string) { t.update(addr, func(s *ServerState) { s.Up = false }) }

func (t *serverTable) get(addr string) ServerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.by[addr]; s != nil {
		return *s
	}
	return ServerState{Address: addr}
}

// Servers returns the state of each configured server address, in the
// order of the config: a server's authentication address, then its
// accounting address (one entry when they are the same).
func (c *Client) Servers() []ServerState {
	var out []ServerState
	seen := map[string]int{}
	add := func(addr string, auth bool) {
		if addr == "" {
			return
		}
		if i, ok := seen[addr]; ok {
			out[i].Auth, out[i].Acct = out[i].Auth || auth, out[i].Acct || !auth
			return
		}
		s := c.servers.get(addr)
		s.Auth, s.Acct = auth, !auth
		seen[addr] = len(out)
		out = append(out, s)
	}
	for _, s := range c.cfg.Servers {
		add(s.Auth, true)
		add(s.Acct, false)
	}
	return out
}
