// Package trace is the operator's live view of logins (the console's
// `trace user NAME` and `trace peer ADDRESS`): a Hub of subscribers, each
// with a Filter, and one Call per traced login that the protocol layers
// write pppd-style lines into ("rcvd [LCP ConfReq id=0x1 <mru 1400>]").
//
// Nothing is paid when nobody traces: Hub.Open is one atomic load and
// returns nil, and a nil *Call is not Tracing, so the layers format nothing.
// A user's name is known only once the peer authenticates, after the
// control messages and LCP: while a user tracer is subscribed, a new call's
// lines are kept (bounded) until Identify names the user, then handed to
// the matching subscribers or thrown away. A peer tracer matches from the
// first line. A subscriber that reads slowly never holds up a session:
// lines that do not fit its buffer are dropped and counted, and a
// "… N events dropped" line says so.
//
// The layers do not import this package: pkg/pptp, pkg/ppp (and through
// ppp.AuthRequest, pkg/aaa and pkg/radius) declare the narrow tracer
// interface they use, which *Call satisfies; pkg/session owns the Hub.
package trace

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one line of a trace.
type Event struct {
	Time   time.Time
	CallID uint16 // our call ID (the GRE key the peer sends); 0 before the call is placed
	Peer   netip.Addr
	User   string // "" until the peer names itself
	Layer  string // pptp, lcp, auth, ccp, ipcp, radius, session
	Dir    string // "rcvd", "sent", or "" for a note
	Text   string
}

// Filter selects the logins a subscriber follows: by user name (as the
// peer gives it, or without a "DOMAIN\" prefix), or by peer address.
// Exactly one is set.
type Filter struct {
	User string
	Peer netip.Addr
}

func (f Filter) valid() bool { return (f.User != "") != f.Peer.IsValid() }

func (f Filter) String() string {
	if f.User != "" {
		return "user " + f.User
	}
	return "peer " + f.Peer.String()
}

// matchUser says whether name, as the peer gave it, is f's user.
func (f Filter) matchUser(name string) bool {
	if f.User == "" {
		return false
	}
	if name == f.User {
		return true
	}
	// Windows sends "DOMAIN\user" when the dial-up entry has a domain.
	if i := strings.LastIndexByte(name, '\\'); i >= 0 && name[i+1:] == f.User {
		return true
	}
	return false
}

// Sizes: a subscriber's buffer, and the lines a call keeps while it waits
// for the user's name (a login takes some 30 to 60).
const (
	DefaultBuffer = 256
	MaxPending    = 256
)

// Hub is the set of subscribers. The zero value is not usable: New.
type Hub struct {
	active atomic.Int32 // len(subs): the one check on the hot path
	mu     sync.Mutex
	subs   map[*Sub]struct{}
	now    func() time.Time
}

// New makes an empty hub.
func New() *Hub { return &Hub{subs: map[*Sub]struct{}{}, now: time.Now} }

// Enabled says whether anybody traces. Safe on a nil Hub.
func (h *Hub) Enabled() bool { return h != nil && h.active.Load() > 0 }

// Sub is one subscriber: an operator's `trace` command.
type Sub struct {
	hub    *Hub
	filter Filter
	ch     chan Event

	mu      sync.Mutex // orders deliveries and the drop count
	dropped uint64     // lines lost since the last one delivered
	closed  bool
	done    chan struct{}
}

// Subscribe adds a subscriber with room for buffer lines (0: DefaultBuffer).
// It follows the logins that start after it, until Close.
func (h *Hub) Subscribe(f Filter, buffer int) (*Sub, error) {
	if !f.valid() {
		return nil, fmt.Errorf("trace: a filter names a user or a peer address")
	}
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	s := &Sub{hub: h, filter: f, ch: make(chan Event, buffer), done: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.active.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s, nil
}

// Filter is what s follows.
func (s *Sub) Filter() Filter { return s.filter }

// Close unsubscribes s; lines for it are dropped from then on.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.active.Store(int32(len(h.subs)))
	}
	h.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
}

// Next returns s's next line, waiting until there is one or ctx ends (then
// ctx's error). Lines that were dropped are reported in order, as a line
// "… N events dropped" of layer "trace".
func (s *Sub) Next(ctx context.Context) (Event, error) {
	select {
	case ev := <-s.ch:
		return ev, nil
	default:
	}
	// Empty: drops counted since the last delivery come now, after every
	// line queued before them.
	if ev, ok := s.takeDropped(); ok {
		return ev, nil
	}
	select {
	case ev := <-s.ch:
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	case <-s.done:
		return Event{}, context.Canceled
	}
}

func (s *Sub) takeDropped() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped == 0 {
		return Event{}, false
	}
	ev := droppedEvent(s.hub.now(), s.dropped)
	s.dropped = 0
	return ev, true
}

func droppedEvent(t time.Time, n uint64) Event {
	return Event{Time: t, Layer: "trace", Text: fmt.Sprintf("… %d events dropped", n)}
}

// Dropped is how many lines s lost that it has not been told about yet.
func (s *Sub) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// deliver queues ev for s without ever blocking: a full buffer drops it.
// A line that follows drops is preceded by the count.
func (s *Sub) deliver(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.dropped > 0 {
		if cap(s.ch)-len(s.ch) < 2 {
			s.dropped++
			return
		}
		s.ch <- droppedEvent(ev.Time, s.dropped)
		s.dropped = 0
	}
	select {
	case s.ch <- ev:
	default:
		s.dropped++
	}
}

func (s *Sub) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Call is one traced login: a control connection and the call placed on
// it. The layers write into it; it passes the lines on to the subscribers
// whose filter the login matches. A nil *Call traces nothing.
type Call struct {
	hub  *Hub
	peer netip.Addr
	live atomic.Bool // Tracing: some subscriber may still want lines

	mu      sync.Mutex
	callID  uint16
	user    string
	to      []*Sub // subscribers the login matched
	waiting []*Sub // user subscribers, until Identify
	pending []Event
	lost    uint64 // pending lines beyond MaxPending
	decided bool
}

// Open starts tracing a login from peer, or returns nil (nothing traced,
// nothing allocated) when no subscriber may want it: nobody traces, or
// only peer tracers of other addresses.
func (h *Hub) Open(peer netip.Addr) *Call {
	if h == nil || h.active.Load() == 0 {
		return nil
	}
	peer = peer.Unmap()
	h.mu.Lock()
	var to, waiting []*Sub
	for s := range h.subs {
		switch {
		case s.filter.Peer.IsValid():
			if s.filter.Peer.Unmap() == peer {
				to = append(to, s)
			}
		default:
			waiting = append(waiting, s)
		}
	}
	h.mu.Unlock()
	if len(to) == 0 && len(waiting) == 0 {
		return nil
	}
	c := &Call{hub: h, peer: peer, to: to, waiting: waiting, decided: len(waiting) == 0}
	c.live.Store(true)
	return c
}

// Tracing says whether c wants lines now: the layers check it before they
// format one. False for a nil Call, a login no subscriber matched, or once
// every subscriber of c has gone.
func (c *Call) Tracing() bool {
	return c != nil && c.live.Load() && c.hub.active.Load() > 0
}

// Trace records one line. dir is "rcvd", "sent" or "" for a note.
func (c *Call) Trace(layer, dir, text string) {
	if !c.Tracing() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ev := Event{Time: c.hub.now(), CallID: c.callID, Peer: c.peer, User: c.user, Layer: layer, Dir: dir, Text: text}
	if !c.decided {
		if len(c.pending) >= MaxPending {
			c.lost++
		} else {
			c.pending = append(c.pending, ev)
		}
	}
	c.sendLocked(ev)
}

// Tracef is Trace with a format.
func (c *Call) Tracef(layer, dir, format string, args ...any) {
	if c.Tracing() {
		c.Trace(layer, dir, fmt.Sprintf(format, args...))
	}
}

// sendLocked passes ev to the subscribers c matched, and notices when they
// have all gone.
func (c *Call) sendLocked(ev Event) {
	open := 0
	for _, s := range c.to {
		if !s.isClosed() {
			s.deliver(ev)
			open++
		}
	}
	if open == 0 && c.decided {
		c.live.Store(false)
	}
}

// Identify tells c the user name the peer gave: the user subscribers whose
// filter it matches get the lines kept so far and the ones to come; if no
// subscriber wants the login, c stops tracing. Only the first name counts
// (a retry on the same link under another name is not followed).
func (c *Call) Identify(user string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user == "" {
		c.user = user
	}
	if c.decided {
		return
	}
	c.decided = true
	var matched []*Sub
	for _, s := range c.waiting {
		if s.filter.matchUser(user) && !s.isClosed() {
			matched = append(matched, s)
		}
	}
	c.waiting = nil
	pending, lost := c.pending, c.lost
	c.pending, c.lost = nil, 0
	for _, s := range matched {
		for _, ev := range pending {
			ev.User = user
			s.deliver(ev)
		}
		if lost > 0 {
			s.deliver(droppedEvent(c.hub.now(), lost))
		}
	}
	c.to = append(c.to, matched...)
	if len(c.to) == 0 {
		c.live.Store(false)
	}
}

// User is the name Identify gave ("" before).
func (c *Call) User() string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Claim makes c the trace of call id when no call has claimed it yet: the
// first call of a control connection inherits the connection's lines (its
// SCCRQ/SCCRP); a later call on the same connection opens its own Call.
func (c *Call) Claim(id uint16) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.callID != 0 {
		return false
	}
	c.callID = id
	return true
}
