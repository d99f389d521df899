// Package authguard slows password guessing. It counts failed logins per
// source address, per user name and per (source, user) pair, forgets a
// count after a quiet window, and answers three questions: how long to
// hold back the next Failure, whether a login is to be failed without
// checking the password, and whether a source's new calls are refused.
//
// The policy weighs guessing against lockout. A remote attacker who fails a
// user's name on purpose must not lock that user out from everywhere, so:
//
//   - (source, user) past Limit: that user's logins from that source fail
//     unchecked while in backoff (the guesser's own pair).
//   - source past SourceLimit: every login from it fails unchecked and its
//     new calls are refused while in backoff (one host spraying names).
//   - user past Limit: only the Failure is delayed. Logins with the right
//     password from elsewhere still succeed at once, and a success resets
//     the user's count (and its pair's).
//
// The backoff time d is Delay for the first failure past the limit,
// doubling with each further one up to MaxDelay. The Failure is held back
// for d, and the blocking lasts 2d from the failure: d while the Failure
// is held, then d more, so that a guesser who waits for each answer (one
// connection at a time) also meets a refusal, and gets one checked try per
// 2d at most. Memory is bounded: each of the three
// tables holds at most MaxEntries keys and drops the least recently failed
// one when full (an attacker spraying names or addresses pushes out old
// entries rather than growing the tables). A Guard has no global state and
// takes its clock from Config.Now.
package authguard

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Config sets a Guard's thresholds. Zero fields take the defaults noted.
type Config struct {
	// Limit is how many failures of one user (from anywhere, or from one
	// source) are tolerated within Window before backoff starts (5).
	Limit int
	// SourceLimit is the same for one source address, whatever the user
	// names (20: a NAT may hold several users, each allowed a few typos).
	SourceLimit int
	// Window: a key whose last failure is older than Window starts from
	// zero again (15m).
	Window time.Duration
	// Delay is the backoff of the first failure past a limit, doubled by
	// each further one up to MaxDelay (1s, 30s).
	Delay, MaxDelay time.Duration
	// MaxEntries bounds each table (4096).
	MaxEntries int
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Verdict is what Failure decided for one failed login.
type Verdict struct {
	// Delay is how long to hold back the Failure reply (0: none).
	Delay time.Duration
	// Failures counted within the window, after this one.
	Source, User, Pair int
	// SourceRefused is how long the source's new calls are refused from
	// now (0: not refused).
	SourceRefused time.Duration
}

// Guard tracks failures. It is safe for concurrent use.
type Guard struct {
	cfg     Config
	mu      sync.Mutex
	sources table[netip.Addr]
	users   table[string]
	pairs   table[pairKey]
}

type pairKey struct {
	src  netip.Addr
	user string
}

// New makes a Guard.
func New(cfg Config) *Guard {
	if cfg.Limit <= 0 {
		cfg.Limit = 5
	}
	if cfg.SourceLimit <= 0 {
		cfg.SourceLimit = 20
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.Delay <= 0 {
		cfg.Delay = time.Second
	}
	if cfg.MaxDelay < cfg.Delay {
		cfg.MaxDelay = max(cfg.Delay, 30*time.Second)
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Guard{cfg: cfg}
	g.sources.init(cfg.MaxEntries)
	g.users.init(cfg.MaxEntries)
	g.pairs.init(cfg.MaxEntries)
	return g
}

// maxKey bounds the bytes of a user name kept as a key: a peer chooses the
// name (up to 255 bytes in CHAP), and distinct names longer than this are
// counted as one, which errs on the side of slowing them.
const maxKey = 64

// userKey is the name as counted: without a Windows "DOMAIN\" prefix and
// in lower case, so that a guesser cannot reset the count by spelling the
// name differently where the authenticator (RADIUS, often) would take it
// as the same user.
func userKey(user string) string {
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		user = user[i+1:]
	}
	if len(user) > maxKey {
		user = user[:maxKey]
	}
	return strings.ToLower(user)
}

// Blocked reports whether a login of user from src is to fail without its
// password being checked: the source, or this user from this source, is in
// backoff. why says which ("source" or "source+user").
func (g *Guard) Blocked(src netip.Addr, user string) (why string, blocked bool) {
	src = src.Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	if e := g.sources.get(src); e != nil && now.Before(e.until) {
		return "source", true
	}
	if e := g.pairs.get(pairKey{src, userKey(user)}); e != nil && now.Before(e.until) {
		return "source+user", true
	}
	return "", false
}

// Refused reports whether new calls from src are refused, and for how long
// still.
func (g *Guard) Refused(src netip.Addr) (time.Duration, bool) {
	src = src.Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	if e := g.sources.get(src); e != nil && now.Before(e.until) {
		return e.until.Sub(now), true
	}
	return 0, false
}

// Failure records a failed login of user from src (one whose password was
// wrong, or one failed unchecked because Blocked said so).
func (g *Guard) Failure(src netip.Addr, user string) Verdict {
	src = src.Unmap()
	u := userKey(user)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	var v Verdict
	var d time.Duration
	v.Source, d = g.fail(g.sources.touch(src, now, g.cfg.Window), now, g.cfg.SourceLimit, true)
	v.Delay = max(v.Delay, d)
	if d > 0 {
		v.SourceRefused = 2 * d
	}
	v.Pair, d = g.fail(g.pairs.touch(pairKey{src, u}, now, g.cfg.Window), now, g.cfg.Limit, true)
	v.Delay = max(v.Delay, d)
	v.User, d = g.fail(g.users.touch(u, now, g.cfg.Window), now, g.cfg.Limit, false)
	v.Delay = max(v.Delay, d)
	return v
}

// fail counts one failure on e and returns its count and backoff d; with
// block the key is in backoff (Blocked, Refused) for 2d.
func (g *Guard) fail(e *entry, now time.Time, limit int, block bool) (int, time.Duration) {
	if now.Sub(e.last) >= g.cfg.Window {
		e.failures = 0
	}
	e.failures++
	e.last = now
	over := e.failures - limit
	if over <= 0 {
		return e.failures, 0
	}
	d := g.cfg.MaxDelay
	if over <= 30 {
		d = min(g.cfg.Delay<<(over-1), g.cfg.MaxDelay)
	}
	if block {
		e.until = now.Add(2 * d)
	}
	return e.failures, d
}

// Success records a successful login of user from src: the user's count
// and the pair's start over. The source's does not: one user behind a
// source getting in says nothing about the guesser beside them.
func (g *Guard) Success(src netip.Addr, user string) {
	src = src.Unmap()
	u := userKey(user)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users.del(u)
	g.pairs.del(pairKey{src, u})
}

// Len reports how many keys each table holds.
func (g *Guard) Len() (sources, users, pairs int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sources.m), len(g.users.m), len(g.pairs.m)
}

// entry is one key's failures.
type entry struct {
	failures int
	last     time.Time // the latest failure
	until    time.Time // in backoff until then
}

// table maps keys to entries with at most max of them, in a list ordered
// by the latest failure (most recent first) so that the stalest is dropped
// first, in O(1).
type table[K comparable] struct {
	max        int
	m          map[K]*node[K]
	head, tail *node[K]
}

type node[K comparable] struct {
	key        K
	e          entry
	prev, next *node[K]
}

func (t *table[K]) init(max int) {
	t.max = max
	t.m = make(map[K]*node[K])
}

func (t *table[K]) get(k K) *entry {
	if n := t.m[k]; n != nil {
		return &n.e
	}
	return nil
}

// touch returns k's entry, created if need be, and makes it the most
// recent. Entries whose last failure is a window old and whose backoff has
// ended are dropped from the stale end on the way, and the stalest goes when
// the table is full.
func (t *table[K]) touch(k K, now time.Time, window time.Duration) *entry {
	for n := t.tail; n != nil && n.key != k && now.Sub(n.e.last) >= window && !now.Before(n.e.until); n = t.tail {
		t.unlink(n)
		delete(t.m, n.key)
	}
	n := t.m[k]
	if n == nil {
		if len(t.m) >= t.max {
			old := t.tail
			t.unlink(old)
			delete(t.m, old.key)
		}
		n = &node[K]{key: k}
		t.m[k] = n
	} else {
		t.unlink(n)
	}
	n.next = t.head
	if t.head != nil {
		t.head.prev = n
	}
	t.head = n
	if t.tail == nil {
		t.tail = n
	}
	return &n.e
}

func (t *table[K]) del(k K) {
	if n := t.m[k]; n != nil {
		t.unlink(n)
		delete(t.m, k)
	}
}

func (t *table[K]) unlink(n *node[K]) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		t.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		t.tail = n.prev
	}
	n.prev, n.next = nil, nil
}
