package mppe

import (
	"errors"
	"fmt"
	"slices"
)

// Flags of the first header octet (RFC 3078 §3; B and C belong to MPPC,
// RFC 2118 §3.1).
const (
	FlagFlushed    = 0x80 // A: RC4 state re-initialised before this packet
	FlagB          = 0x40 // B: MPPC history reset (unused without MPPC)
	FlagCompressed = 0x20 // C: MPPC compressed
	FlagEncrypted  = 0x10 // D: encrypted
)

// HeaderLen is the length of the MPPE header before the ciphertext.
const HeaderLen = 2

// The coherency count is 12 bits (RFC 3078 §3).
const (
	countMask = 0x0FFF
	// countHalf splits the count space into "ahead" and "behind" when
	// comparing a packet's count with the last one seen.
	countHalf = 2048
)

// Errors of Decrypt. The packet is dropped in every case.
var (
	ErrShort        = errors.New("mppe: packet shorter than the 2-octet header")
	ErrNotEncrypted = errors.New("mppe: packet not encrypted (D bit clear)")
	ErrCompressed   = errors.New("mppe: compressed packet (C bit set) but MPPC is not negotiated")
	// ErrResetNeeded: stateful mode lost a packet; send a CCP Reset-Request
	// (RFC 3078 §8.2). Packets are discarded until one with the A bit comes.
	ErrResetNeeded = errors.New("mppe: stateful: packet lost, send CCP Reset-Request")
	// ErrAwaitingFlush: still discarding after ErrResetNeeded. The caller may
	// repeat its Reset-Request on a timer if this goes on.
	ErrAwaitingFlush = errors.New("mppe: stateful: discarding until a flushed packet arrives")
	// ErrLate: the packet is older than the receive window (or, stateful,
	// older than the last one decrypted); RC4 cannot go back.
	ErrLate = errors.New("mppe: packet older than the receive window")
	// ErrReplayed: a packet with this coherency count was already decrypted.
	ErrReplayed = errors.New("mppe: coherency count already received")
)

// session is the key state of one direction (RFC 3078 §7). The RC4 state
// is not part of it: stateless MPPE re-keys RC4 for every packet, so its
// state lives only for one Encrypt or Decrypt call (on the stack), and only
// stateful mode keeps one between packets (Encrypter.state,
// Decrypter.state). Methods that run RC4 take the state to use.
type session struct {
	bits   int
	keyLen int
	start  [16]byte // the start ("master") key, first keyLen octets used
	key    [16]byte // the current session key
}

func (s *session) init(masterKey []byte, bits int) error {
	n, err := keyLen(bits)
	if err != nil {
		return err
	}
	if len(masterKey) < n || len(masterKey) > 16 {
		return fmt.Errorf("mppe: master key of %d octets, want %d to 16 for %d-bit keys", len(masterKey), n, bits)
	}
	s.bits, s.keyLen = bits, n
	copy(s.start[:], masterKey[:n])
	// The initial session key is GetNewKeyFromSHA(StartKey, StartKey),
	// reduced to the strength (RFC 3079 §3.5 "SendSessionKey").
	var sha shaInput
	sum := sha.newKeyFromSHA(s.start[:n], s.start[:n])
	copy(s.key[:], sum[:n])
	ReduceKey(s.key[:n], bits)
	return nil
}

// nextKey changes the session key (RFC 3078 §7.3): InterimKey =
// GetNewKeyFromSHA(StartKey, SessionKey); SessionKey = RC4(InterimKey,
// InterimKey), reduced to the strength. It runs RC4 in c and leaves it
// keyed with the interim key: call resetRC4 before using it for data.
func (s *session) nextKey(c *rc4) {
	n := s.keyLen
	var sha shaInput
	interim := sha.newKeyFromSHA(s.start[:n], s.key[:n])
	c.reset(interim[:n])
	c.xorKeyStream(s.key[:n], interim[:n])
	ReduceKey(s.key[:n], s.bits)
}

// resetRC4 initialises the RC4 state c from the current session key.
func (s *session) resetRC4(c *rc4) { c.reset(s.key[:s.keyLen]) }

// Encrypter encrypts the packets of one direction.
type Encrypter struct {
	s         session
	stateless bool
	count     uint16 // coherency count of the last packet sent
	flush     bool   // set the A bit and reset RC4 on the next packet
	// state (stateful only) is the RC4 state carried from one packet to
	// the next; nil when stateless.
	state *rc4
}

// NewEncrypter returns the sending half of an MPPE session. masterKey is the
// 16-octet start key of this direction (MasterKeys' send key, or RADIUS
// MS-MPPE-Send-Key on a server); bits is 40, 56 or 128; stateless is the
// negotiated H bit.
func NewEncrypter(masterKey []byte, bits int, stateless bool) (*Encrypter, error) {
	e := &Encrypter{stateless: stateless, count: countMask}
	if err := e.s.init(masterKey, bits); err != nil {
		return nil, err
	}
	if !stateless {
		e.state = new(rc4)
		e.s.resetRC4(e.state)
	}
	return e, nil
}

// Encrypt appends to dst the MPPE header and the encrypted payload (the PPP
// protocol field and information of the original packet, RFC 3078 §3) and
// returns the extended slice. It does not allocate when dst has room for
// HeaderLen+len(payload) more octets. payload may not overlap dst, except
// that it may sit exactly HeaderLen octets past len(dst) in the same array:
// then it is encrypted in place behind the header.
func (e *Encrypter) Encrypt(dst, payload []byte) []byte {
	if e.stateless {
		var c rc4 // keyed afresh below: needed for this packet only
		return e.encrypt(&c, dst, payload)
	}
	return e.encrypt(e.state, dst, payload)
}

// encrypt is Encrypt with the RC4 state c.
func (e *Encrypter) encrypt(c *rc4, dst, payload []byte) []byte {
	e.count = (e.count + 1) & countMask
	if e.flush && !e.stateless {
		// The answer to a Reset-Request is the next flag packet: see Flush.
		e.count |= 0xFF
	}
	e.flush = false
	hdr := byte(FlagEncrypted)
	if e.stateless || e.count&0xFF == 0xFF {
		// Stateless: new key for every packet (RFC 3078 §7.3). Stateful: new
		// key on each "flag" packet, whose count's low octet is 0xFF
		// (RFC 3078 §7.2). The RC4 state starts over, so A is set.
		e.s.nextKey(c)
		e.s.resetRC4(c)
		hdr |= FlagFlushed
	}

	n := len(dst)
	dst = slices.Grow(dst, HeaderLen+len(payload))[:n+HeaderLen+len(payload)]
	out := dst[n+HeaderLen:]
	c.xorKeyStream(out, payload)
	dst[n] = hdr | byte(e.count>>8)
	dst[n+1] = byte(e.count)
	return dst
}

// Flush makes the next packet a flushed one (A bit, RC4 restarted), the
// answer to a CCP Reset-Request in stateful mode (RFC 3078 §8.2). Several
// Flush calls before the next packet count as one, so a repeated
// Reset-Request cannot desynchronise the peer.
//
// RFC 3078 leaves open whether the session key changes on such a packet,
// and peers disagree: Linux's ppp_mppe changes it on every flushed packet,
// FreeBSD's ng_mppc and OpenBSD's npppd (interoperating with Windows) only
// restart RC4 with the current key. Both change it exactly once on a flag
// packet (count low octet 0xFF), so the flushed packet skips ahead to the
// next flag count: a receiver waiting for a flushed packet accepts any
// count ahead (§8.2) and, under either rule, keys it like we do.
func (e *Encrypter) Flush() { e.flush = true }

// Count returns the coherency count of the last packet encrypted.
func (e *Encrypter) Count() uint16 { return e.count }
