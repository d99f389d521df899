package mppe

import (
	"slices"
	"time"
)

// window is how far back a stateless Decrypter still accepts a packet that
// arrives out of order (it keeps the session keys of that many counts).
const window = 64

// Decrypter decrypts the packets of one direction.
type Decrypter struct {
	s         session
	stateless bool
	last      uint16 // coherency count of the last packet accepted in order
	// stateless: keys[c%window] is the session key of count c for the
	// window counts up to last; seen bit i is set once count last-i was
	// decrypted. nil when stateful.
	keys *[window][16]byte
	seen uint64
	// state (stateful only) is the RC4 state carried from one packet to
	// the next; nil when stateless.
	state *rc4
	// stateful: a packet was lost and nothing is decrypted until a
	// packet with the A bit arrives.
	discard bool
	// stateful: the peer changes the session key on every flushed packet
	// (Linux), as learnt from its flushed packets; see Encrypter.Flush.
	rekeyOnFlush bool
	// gaps counts the stateful losses detected (ErrResetNeeded).
	gaps uint64
	// Work bounds (limit.go): the per-packet jump cap (MaxJump unless a
	// test or benchmark changes it), the per-session rekey budget and its
	// burst (0: RekeyBurst), its clock (nil: time.Now) and where bounded
	// drops are counted.
	maxJump uint16
	budget  rekeyBudget
	// owed (stateless) is the key changes of packets the budget refused:
	// each packet may cause one change for free, and a refused packet
	// leaves its change to the next (at most maxJump). Without it a
	// refusal would make the next packet of a fast sender cost one more
	// change, and one more after that: a session above RekeyRate
	// packets/s that once ran out of budget would never catch up.
	owed     int
	burst    int
	now      func() time.Time
	counters *Counters
}

// Gaps returns how many times a stateful Decrypter lost sync (returned
// ErrResetNeeded). A Reset-Request for the current gap is repeated only on
// a timer; a new gap asks again at once.
func (d *Decrypter) Gaps() uint64 { return d.gaps }

// NewDecrypter returns the receiving half of an MPPE session. masterKey is
// the 16-octet start key of this direction (MasterKeys' receive key, or
// RADIUS MS-MPPE-Recv-Key on a server).
func NewDecrypter(masterKey []byte, bits int, stateless bool) (*Decrypter, error) {
	// The first packet carries count 0: start "one before" it, with every
	// earlier count marked seen so nothing before the start is accepted.
	d := &Decrypter{stateless: stateless, last: countMask, seen: ^uint64(0), maxJump: MaxJump}
	if err := d.s.init(masterKey, bits); err != nil {
		return nil, err
	}
	if stateless {
		d.keys = new([window][16]byte)
	} else {
		d.state = new(rc4)
		d.s.resetRC4(d.state)
	}
	return d, nil
}

// Decrypt checks the MPPE header of packet, decrypts the rest and appends
// the plaintext (PPP protocol field and information) to dst. It does not
// allocate when dst has room. packet may not overlap dst, except that the
// ciphertext (packet[HeaderLen:]) may start exactly at len(dst) in the same
// array, for in-place decryption. On error nothing is appended and dst is
// returned unchanged.
func (d *Decrypter) Decrypt(dst, packet []byte) ([]byte, error) {
	if d.stateless {
		var c rc4 // keyed afresh by syncStateless: needed for this packet only
		return d.decrypt(&c, dst, packet)
	}
	return d.decrypt(d.state, dst, packet)
}

// decrypt is Decrypt with the RC4 state c.
func (d *Decrypter) decrypt(c *rc4, dst, packet []byte) ([]byte, error) {
	if len(packet) < HeaderLen {
		return dst, ErrShort
	}
	flags := packet[0] & 0xF0
	count := (uint16(packet[0])<<8 | uint16(packet[1])) & countMask
	if flags&FlagEncrypted == 0 {
		return dst, ErrNotEncrypted
	}
	if flags&FlagCompressed != 0 {
		return dst, ErrCompressed
	}
	var err error
	if d.stateless {
		err = d.syncStateless(c, count)
	} else {
		err = d.syncStateful(c, count, flags&FlagFlushed != 0, packet[HeaderLen:])
	}
	if err != nil {
		return dst, err
	}
	n := len(dst)
	ct := packet[HeaderLen:]
	dst = slices.Grow(dst, len(ct))[:n+len(ct)]
	c.xorKeyStream(dst[n:], ct)
	return dst, nil
}

// syncStateless keys the RC4 state c with the key of count (RFC 3078 §7.3,
// §8.1): one key change per count advanced, wrapping at 4096; a late packet
// inside the window gets its remembered key. A jump beyond maxJump is
// dropped after stepping maxJump counts towards it, and the changes beyond
// the packet's own come out of the rekey budget (limit.go).
func (d *Decrypter) syncStateless(c *rc4, count uint16) error {
	ahead := (count - d.last) & countMask
	if ahead == 0 || ahead >= countHalf {
		behind := (d.last - count) & countMask
		if behind >= window {
			return ErrLate
		}
		if d.seen&(1<<behind) != 0 {
			return ErrReplayed
		}
		d.seen |= 1 << behind
		c.reset(d.keys[count%window][:d.s.keyLen])
		return nil
	}
	far := ahead > d.maxJump
	step := ahead
	if far {
		step = d.maxJump
	}
	owed := min(d.owed, int(step)-1)
	if !d.charge(int(step) - 1 - owed) {
		d.owed = min(d.owed+1, int(d.maxJump))
		return ErrRekeyLimit
	}
	d.owed -= owed
	d.advance(c, step)
	if far {
		// The counts stepped over stay unseen: if this was real loss,
		// the late ones among them still decrypt.
		if d.counters != nil {
			d.counters.FarJumps.Add(1)
		}
		return ErrFarJump
	}
	d.seen |= 1
	d.s.resetRC4(c)
	return nil
}

// advance changes the key step times, remembering each count's key, and
// moves last and the seen bits along (none of the new counts seen yet). c
// is the RC4 state the key changes run in.
func (d *Decrypter) advance(c *rc4, step uint16) {
	count := d.last
	for range step {
		count = (count + 1) & countMask
		d.s.nextKey(c)
		d.keys[count%window] = d.s.key
	}
	if step >= window {
		d.seen = 0
	} else {
		d.seen <<= step
	}
	d.last = count
}

// syncStateful follows the stateful rules of RFC 3078 §8.2: the count must
// advance by one; otherwise packets are discarded until a flushed one, which
// resynchronises after one key change for every flag packet (count
// xxFF) skipped. c is the RC4 state kept between packets; ct is the
// packet's ciphertext, for flushedKey.
func (d *Decrypter) syncStateful(c *rc4, count uint16, flushed bool, ct []byte) error {
	ahead := (count - d.last) & countMask
	if ahead == 0 || ahead >= countHalf {
		// Behind or repeated: the RC4 stream has moved past it. Dropping it
		// leaves the state intact (a reordered packet is not a lost one).
		return ErrLate
	}
	switch {
	case flushed:
		// A flushed packet costs a key change per flag packet skipped
		// (at most 8) and flushTries-1 more to settle its key: bounded,
		// but a peer sending nothing else would cost ~15 times a normal
		// packet each, so all but the first change come out of the
		// rekey budget. A refused packet leaves the state as it was.
		flags := flagPackets(d.last, ahead)
		flag := count&0xFF == 0xFF
		settle := !flag || d.discard
		if !d.charge(flags - 1 + btoi(settle)*(flushTries-1)) {
			return ErrRekeyLimit
		}
		for range flags {
			d.s.nextKey(c)
		}
		d.s.resetRC4(c)
		if settle {
			d.flushedKey(c, ct, flag)
		}
		d.discard = false
	case d.discard:
		return ErrAwaitingFlush
	case ahead != 1:
		d.discard = true
		d.gaps++
		return ErrResetNeeded
	case count&0xFF == 0xFF:
		// A flag packet without the A bit: change key all the same.
		d.s.nextKey(c)
		d.s.resetRC4(c)
	}
	d.last = count
	return nil
}

// flushTries bounds the key changes flushedKey looks ahead: one per
// flushed packet of a rekey-on-flush peer that was lost too.
const flushTries = 8

// flushedKey settles the key of a flushed packet that resynchronises
// after a loss, or answers a Reset-Request without being a flag packet.
// FreeBSD, npppd and Windows keep the current key (after the flag-packet
// changes the caller made); Linux changes it once more for every flushed
// packet, including lost ones (see Encrypter.Flush). The RC4 state c is
// keyed with the current key on entry, and with the chosen one on return.
// The choice is the key under which the packet starts like a PPP data
// frame; on a tie, the convention the peer showed before. A flag packet
// already changed the key under both conventions, so it teaches nothing
// about the peer.
func (d *Decrypter) flushedKey(c *rc4, ct []byte, flag bool) {
	var keys [flushTries][16]byte
	var score [flushTries]int
	for k := range flushTries {
		if k > 0 {
			d.s.nextKey(c)
			d.s.resetRC4(c)
		}
		keys[k] = d.s.key
		score[k] = plausible(c, ct)
	}
	first := 0
	if d.rekeyOnFlush && !flag {
		first = 1
	}
	best := first
	for k := range flushTries {
		if score[k] > score[best] {
			best = k
		}
	}
	if !flag {
		// Learn only from a clear answer; a tie keeps what we knew.
		switch {
		case best > 0 && score[best] > score[0]:
			d.rekeyOnFlush = true
		case best == 0 && score[0] > score[1]:
			d.rekeyOnFlush = false
		}
	}
	d.s.key = keys[best]
	d.s.resetRC4(c)
}

// plausible rates the first octets of ct decrypted with a copy of c: 2
// for an IPv4 or IPv6 frame with its full 2-octet protocol field (as Linux
// sends them) followed by the IP version, 1 for another protocol MPPE may
// carry (0x0021-0x00FA, RFC 3078 §3, protocol field compressed or not), 0
// for anything else. A wrong key scores 2 about once in 600,000 tries; a
// compressed protocol field never does, so such peers fall back on the
// tie rule.
func plausible(c *rc4, ct []byte) int {
	probe := *c
	var p [3]byte
	n := min(len(ct), len(p))
	probe.xorKeyStream(p[:n], ct[:n])
	dataProto := func(b byte) bool { return b&1 == 1 && b >= 0x21 && b <= 0xFA }
	switch {
	case n == 3 && p[0] == 0 && ((p[1] == 0x21 && p[2]>>4 == 4 && p[2]&0x0F >= 5) || (p[1] == 0x57 && p[2]>>4 == 6)):
		return 2
	case n >= 2 && p[0] == 0 && dataProto(p[1]), n >= 1 && dataProto(p[0]):
		return 1
	}
	return 0
}

// flagPackets counts the flag packets (low octet 0xFF) among the ahead
// counts following last, ahead < 4096.
func flagPackets(last, ahead uint16) int {
	r := int(last & 0xFF)
	n := (r + int(ahead) + 1) >> 8
	if r == 0xFF {
		n-- // last itself was a flag packet, already counted
	}
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
