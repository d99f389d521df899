package mppe

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// Two conventions exist for the key of a stateful packet flushed after a
// CCP Reset-Request (RFC 3078 §8.2 does not say whether the session key
// changes): Linux's ppp_mppe changes it on every flushed packet, sender and
// receiver alike; FreeBSD's ng_mppc and OpenBSD's npppd (written against
// Windows) only restart RC4 with the current key. On a flag packet (count
// low octet 0xFF) both change the key exactly once. The models below follow
// the two conventions so that the package is tested against both.

// peerSender is a stateful MPPE sender of either convention.
type peerSender struct {
	s            session
	rc4          rc4
	count        uint16
	flush        bool
	rekeyOnFlush bool // Linux: a flushed packet always gets a new key
}

func newPeerSender(t *testing.T, rekeyOnFlush bool) *peerSender {
	p := &peerSender{count: countMask, rekeyOnFlush: rekeyOnFlush}
	if err := p.s.init(unhex(t, rfcSendStartKey), 128); err != nil {
		t.Fatal(err)
	}
	p.s.resetRC4(&p.rc4)
	return p
}

func (p *peerSender) encrypt(payload []byte) []byte {
	p.count = (p.count + 1) & countMask
	hdr := byte(FlagEncrypted)
	switch {
	case p.count&0xFF == 0xFF || (p.flush && p.rekeyOnFlush):
		p.s.nextKey(&p.rc4)
		p.s.resetRC4(&p.rc4)
		hdr |= FlagFlushed
	case p.flush:
		p.s.resetRC4(&p.rc4)
		hdr |= FlagFlushed
	}
	p.flush = false
	out := []byte{hdr | byte(p.count>>8), byte(p.count)}
	ct := make([]byte, len(payload))
	p.rc4.xorKeyStream(ct, payload)
	return append(out, ct...)
}

// linuxReceiver is the stateful half of Linux's mppe_decompress: in
// order, the count must advance by one; after a gap it discards until a
// flushed packet, then changes the key once per 256-count block crossed
// since the packet after the last good one, and once more for the flushed
// packet itself.
type linuxReceiver struct {
	s       session
	rc4     rc4
	ccount  uint16
	discard bool
	waited  int // packets discarded since the last Reset-Request
}

// wantReset is pppd's ccp_datainput after a decompression error: a
// Reset-Request for a new gap, and again (its RREQ_REPEAT timer, here
// counted in packets) while the flushed packet does not come.
func (r *linuxReceiver) wantReset() bool {
	if r.waited == 0 || r.waited > 20 {
		r.waited = 1
		return true
	}
	r.waited++
	return false
}

var errLinuxDrop = errors.New("linux receiver: packet dropped")

func newLinuxReceiver(t *testing.T) *linuxReceiver {
	r := &linuxReceiver{ccount: countMask}
	if err := r.s.init(unhex(t, rfcSendStartKey), 128); err != nil {
		t.Fatal(err)
	}
	r.s.resetRC4(&r.rc4)
	return r
}

func (r *linuxReceiver) decrypt(pkt []byte) ([]byte, error) {
	flushed := pkt[0]&FlagFlushed != 0
	ccount := (uint16(pkt[0])<<8 | uint16(pkt[1])) & countMask
	if ccount&0xFF == 0xFF && !flushed {
		return nil, fmt.Errorf("%w: flag packet %#x without the A bit", errLinuxDrop, ccount)
	}
	if !r.discard {
		r.ccount = (r.ccount + 1) & countMask
		if ccount != r.ccount {
			r.discard = true
			return nil, fmt.Errorf("%w: gap at %#x", errLinuxDrop, ccount)
		}
	} else {
		if !flushed {
			return nil, fmt.Errorf("%w: discarding %#x", errLinuxDrop, ccount)
		}
		for ccount&^0xFF != r.ccount&^0xFF {
			r.s.nextKey(&r.rc4)
			r.ccount = (r.ccount + 0x100) & countMask
		}
		r.discard = false
		r.waited = 0
		r.ccount = ccount
	}
	if flushed {
		r.s.nextKey(&r.rc4)
		r.s.resetRC4(&r.rc4)
	}
	out := make([]byte, len(pkt)-HeaderLen)
	r.rc4.xorKeyStream(out, pkt[HeaderLen:])
	return out, nil
}

// ipPayloadFor is a PPP IPv4 payload (protocol 0x0021, then an IPv4
// header's first octets) numbered i, as pppd's kernel sends them.
func ipPayloadFor(i int) []byte {
	p := []byte{0x00, 0x21, 0x45, 0x00, 0x05, 0xdc}
	return append(p, fmt.Sprintf("ip packet %d", i)...)
}

// lossPattern says which packet indexes are lost on the way.
func lossPattern(i int) bool {
	switch {
	case i%97 == 13, i%211 == 0, i >= 250 && i < 262, i >= 700 && i < 1030:
		return true
	}
	return false
}

// TestFlushInteropReceivers: after a Reset-Request our Encrypter's flushed
// packet must decrypt at a Linux receiver and at an RFC/Windows-convention
// receiver (our Decrypter) alike, through losses that cross flag packets.
func TestFlushInteropReceivers(t *testing.T) {
	e, d := pair(t, 128, false)
	lx := newLinuxReceiver(t)
	var lxResets, ourResets, delivered int
	for i := range 5000 {
		pkt := e.Encrypt(nil, ipPayloadFor(i))
		if lossPattern(i) {
			continue
		}
		want := ipPayloadFor(i)
		// The Linux end: pppd sends Reset-Request on a gap; we flush.
		out, err := lx.decrypt(pkt)
		switch {
		case err != nil && lx.discard && lx.wantReset():
			lxResets++
			e.Flush()
		case err == nil && !bytes.Equal(out, want):
			t.Fatalf("packet %d (count %#x): Linux receiver decrypted garbage %x", i, pkt[1], out[:6])
		case err == nil:
			delivered++
		}
		// Our end sees the same packets (its resets ride on the same flushes).
		got, err := d.Decrypt(nil, pkt)
		switch {
		case errors.Is(err, ErrResetNeeded):
			ourResets++
		case errors.Is(err, ErrAwaitingFlush), errors.Is(err, ErrLate):
		case err != nil:
			t.Fatalf("packet %d: our decrypter: %v", i, err)
		case !bytes.Equal(got, want):
			t.Fatalf("packet %d: our decrypter got garbage %x", i, got[:6])
		}
	}
	if lxResets == 0 || ourResets == 0 || delivered < 4000 {
		t.Fatalf("Linux resets %d, ours %d, delivered %d: the loss pattern did not exercise resync", lxResets, ourResets, delivered)
	}
}

// TestDecryptPeerConventions: our Decrypter resynchronises after a loss with
// senders of both conventions, and keeps doing so once it has seen which.
func TestDecryptPeerConventions(t *testing.T) {
	for _, linux := range []bool{true, false} {
		t.Run(fmt.Sprintf("rekeyOnFlush=%v", linux), func(t *testing.T) {
			p := newPeerSender(t, linux)
			_, d := pair(t, 128, false)
			var resets, delivered, waited int
			for i := range 5000 {
				pkt := p.encrypt(ipPayloadFor(i))
				if lossPattern(i) {
					continue
				}
				out, err := d.Decrypt(nil, pkt)
				switch {
				case errors.Is(err, ErrResetNeeded):
					resets++
					p.flush, waited = true, 0 // the peer gets our Reset-Request
				case errors.Is(err, ErrAwaitingFlush):
					// The flushed packet was lost too: repeat the request.
					if waited++; waited > 20 {
						p.flush, waited = true, 0
					}
				case err != nil:
					t.Fatalf("packet %d: %v", i, err)
				case !bytes.Equal(out, ipPayloadFor(i)):
					t.Fatalf("packet %d (count %#x): decrypted garbage %x", i, uint16(pkt[0]&0x0F)<<8|uint16(pkt[1]), out[:6])
				default:
					delivered++
				}
			}
			if resets < 10 || delivered < 4000 {
				t.Fatalf("resets %d, delivered %d", resets, delivered)
			}
		})
	}
}

// TestPlausible: how flushedKey rates a candidate key's first octets.
func TestPlausible(t *testing.T) {
	tests := []struct {
		plain []byte
		want  int
	}{
		{[]byte{0x00, 0x21, 0x45}, 2},    // IPv4, full protocol field
		{[]byte{0x00, 0x57, 0x60}, 2},    // IPv6
		{[]byte{0x00, 0x21, 0x35}, 1},    // IPv4 protocol, not an IPv4 header
		{[]byte{0x21, 0x45, 0x00}, 1},    // compressed protocol field
		{[]byte{0x00, 0x2b, 0x00}, 1},    // IPX
		{[]byte{0x00, 0x20, 0x45}, 0},    // even: not a protocol
		{[]byte{0x80, 0x21, 0x01}, 0},    // IPCP is never encrypted
		{[]byte{0xc0, 0x21, 0x01}, 0},    // nor LCP
		{[]byte{0x00, 0xfd, 0x45}, 0},    // nor MPPE inside MPPE
		{[]byte{0x00}, 0}, {[]byte{}, 0}, // short
	}
	key := []byte("sixteen byte key")
	for _, tc := range tests {
		var enc, dec rc4
		enc.reset(key)
		dec.reset(key)
		ct := make([]byte, len(tc.plain))
		enc.xorKeyStream(ct, tc.plain)
		if got := plausible(&dec, ct); got != tc.want {
			t.Errorf("plausible(% x) = %d, want %d", tc.plain, got, tc.want)
		}
		// The probe must not move the real state.
		var fresh rc4
		fresh.reset(key)
		if dec != fresh {
			t.Errorf("plausible(% x) advanced the RC4 state", tc.plain)
		}
	}
}
