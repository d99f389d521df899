package mppe

import (
	"errors"
	"sync/atomic"
	"time"
)

// Bounding the work a peer can cause. Every session key change (nextKey:
// one SHA-1 and two RC4 key schedules, about 1 µs) a packet demands is work
// the receiver does before it can tell whether the packet is genuine: MPPE
// has no integrity check. A stateless packet whose coherency count jumps
// 2,047 ahead costs 2,047 changes, some 940 times a normal packet, and the
// receive path is one goroutine for every session. So the Decrypter caps
// the work per packet (MaxJump) and per session (a rekey budget). RFC 3078
// §3.3 and §8 let a receiver discard packets it cannot or will not decrypt;
// stateless mode has no recovery protocol to disturb (each packet stands
// alone), and stateful mode recovers through its Reset-Request anyway.

// MaxJump is how far ahead of the last accepted count a stateless packet
// may be and still be decrypted at once: the most key changes one packet
// can cost. Real loss explains a jump of the lost run's length plus one;
// MaxJump is four times our GRE receive window (64, pptp.Conn's default
// RecvWindow, which a window-honouring peer never exceeds) and covers a
// quarter second of total loss at 1,000 packets/s. A farther packet is
// dropped (ErrFarJump) but the key chain steps MaxJump counts towards it,
// so a peer back from a longer outage is followed within a few packets
// (a 2,047 jump: 8 dropped packets) instead of never; the stepping costs no
// more than a jump of MaxJump a peer may make anyway.
const MaxJump = 256

// The rekey budget is a per-Decrypter token bucket of key changes beyond
// the first of each packet: the changes that loss, or a peer pretending
// loss, costs. A packet the budget refuses does not spend its free change;
// the next one may (Decrypter.owed), so a refusal does not raise the price
// of the packets after it. In-order packets never touch it. RekeyRate is the
// sustained rate (about 4 ms of CPU per second, 0.4% of a core, for a
// session that spends all of it); RekeyBurst allows several MaxJump steps
// at once, enough to catch up on a 1,000-packet outage without waiting.
// A session losing more than RekeyRate packets per second for long has
// nothing left to protect; its own packets are dropped (ErrRekeyLimit) and
// no other session pays for them.
const (
	RekeyRate  = 4096
	RekeyBurst = 4 * MaxJump
)

// Errors of the work bounds; the packet is dropped and nothing changes
// unless said.
var (
	// ErrFarJump: stateless, the count is more than MaxJump ahead. The
	// key chain moved MaxJump counts towards it.
	ErrFarJump = errors.New("mppe: coherency count too far ahead (more than MaxJump)")
	// ErrRekeyLimit: the key changes this packet needs exceed what is
	// left of the session's rekey budget.
	ErrRekeyLimit = errors.New("mppe: rekey budget of the session spent")
)

// Counters count the packets the work bounds dropped. One Counters may be
// shared by many Decrypters (a server's sessions); nil counts nothing.
type Counters struct {
	FarJumps     atomic.Uint64 // ErrFarJump
	RekeyLimited atomic.Uint64 // ErrRekeyLimit
}

// CountInto makes d count its bounded drops in c (nil: nowhere).
func (d *Decrypter) CountInto(c *Counters) { d.counters = c }

// rekeyBudget is a token bucket in the GCRA form: tat is the time at which
// the bucket is full again. Taking k tokens pushes tat k intervals later,
// and is refused when that would put it more than burst intervals ahead of
// now. The zero value is a full bucket.
type rekeyBudget struct {
	tat time.Time
}

const rekeyInterval = time.Second / RekeyRate

func (b *rekeyBudget) take(now time.Time, k, burst int) bool {
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	tat = tat.Add(time.Duration(k) * rekeyInterval)
	if tat.Sub(now) > time.Duration(burst)*rekeyInterval {
		return false
	}
	b.tat = tat
	return true
}

// charge takes k extra key changes from the budget (k <= 0 is free and
// reads no clock) and reports whether they may be done; a refusal is
// counted.
func (d *Decrypter) charge(k int) bool {
	if k <= 0 {
		return true
	}
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	burst := d.burst
	if burst == 0 {
		burst = RekeyBurst
	}
	if d.budget.take(now(), k, burst) {
		return true
	}
	if d.counters != nil {
		d.counters.RekeyLimited.Add(1)
	}
	return false
}
