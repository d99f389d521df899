package ppp

import (
	"fmt"
	"time"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// ccpLayer is CCP (RFC 1962) negotiating MPPE only: every other
// compression (BSD-compress, Deflate, MPPC, Predictor...) is rejected.
// Options in a Configure-Request describe what its sender receives, so our
// request sets the peer's transmit direction (our decrypter) and the peer's
// request ours (our encrypter).
type ccpLayer struct {
	l *Link

	ourBits  mppe.Bits // our request: the peer -> us direction
	sendMPPE bool
	peerBits mppe.Bits // the peer's last acceptable request: us -> peer
	peerMPPE bool

	// nakedStateless: PreferStateful has Nak'ed the peer's stateless
	// request once in this negotiation; a peer asking again gets it.
	nakedStateless bool

	resetID   uint8
	resetSent time.Time
	resetGap  uint64 // the decrypter's gap the last Reset-Request was for
}

func newCCP(l *Link) *ccpLayer { return &ccpLayer{l: l} }

// reset prepares a fresh negotiation with the link's (possibly tightened) policy.
func (c *ccpLayer) reset() {
	pol := c.l.mppePolicy()
	c.ourBits = lengthBits(pol)
	if !pol.PreferStateful {
		c.ourBits |= mppe.BitH
	}
	c.sendMPPE = true
	c.peerMPPE = false
	c.nakedStateless = false
}

func lengthBits(p MPPEPolicy) mppe.Bits {
	var b mppe.Bits
	if p.Bits40 {
		b |= mppe.BitL
	}
	if p.Bits56 {
		b |= mppe.BitM
	}
	if p.Bits128 {
		b |= mppe.BitS
	}
	return b
}

// strongest keeps the strongest key length of b (RFC 3078 §2.1: an
// acknowledged option carries exactly one).
func strongest(b mppe.Bits) mppe.Bits { return mppe.StrengthBit(b.Strongest()) }

func (c *ccpLayer) request() []Option {
	if !c.sendMPPE {
		return nil
	}
	return []Option{mppeOption(c.ourBits)}
}

// wantFor is the Supported Bits we accept for a peer offering v, and
// whether v itself is acceptable.
func (c *ccpLayer) wantFor(v mppe.Bits) (want mppe.Bits, ok bool) {
	pol := c.l.mppePolicy()
	allowed := lengthBits(pol)
	length := strongest(v & allowed)
	if length == 0 {
		length = allowed // none in common: offer ours, the peer may agree
	}
	want = length
	if v&mppe.BitH != 0 || !pol.AllowStateful {
		want |= mppe.BitH
	}
	if pol.PreferStateful && want&mppe.BitH != 0 && !c.nakedStateless {
		// pppd asks for stateless first even with mppe-stateful, and takes
		// a Nak to stateful (ccp.c ccp_nakci); once is enough, a peer that
		// asks again for stateless gets it.
		c.nakedStateless = true
		return length, false
	}
	return want, v == want
}

func (c *ccpLayer) check(opts []Option) (nak, rej []Option) {
	c.peerMPPE = false
	sawMPPE := false
	for _, o := range opts {
		v, err := mppe.ParseBits(o.Value)
		if o.Type != mppe.OptionType || err != nil || sawMPPE || !c.sendMPPE {
			// Not MPPE, or MPPE after we gave it up for our direction: one
			// direction alone would be a half-encrypted link.
			rej = append(rej, o)
			continue
		}
		sawMPPE = true
		want, ok := c.wantFor(v)
		if !ok {
			nak = append(nak, mppeOption(want))
			continue
		}
		c.peerBits, c.peerMPPE = v, true
	}
	if !sawMPPE && len(rej) == 0 && c.sendMPPE {
		// The peer wants to receive plaintext while we ask it to encrypt:
		// suggest MPPE for its direction too (RFC 1661 §5.3).
		want, _ := c.wantFor(0)
		nak = append(nak, mppeOption(want))
	}
	return nak, rej
}

func (c *ccpLayer) gotNak(opts []Option) {
	for _, o := range opts {
		v, err := mppe.ParseBits(o.Value)
		if o.Type != mppe.OptionType || err != nil {
			continue
		}
		pol := c.l.mppePolicy()
		length := strongest(v & lengthBits(pol))
		if length == 0 {
			c.refused(fmt.Sprintf("peer offers only %v", v))
			return
		}
		bits := length
		if v&mppe.BitH != 0 || !pol.AllowStateful {
			bits |= mppe.BitH
		}
		c.ourBits = bits
	}
}

func (c *ccpLayer) gotRej(opts []Option) {
	for _, o := range opts {
		if o.Type == mppe.OptionType {
			c.refused("peer rejected MPPE")
			return
		}
	}
}

// refused: the peer will not encrypt towards us as we need.
func (c *ccpLayer) refused(why string) {
	if c.l.mppePolicy().Required {
		c.l.log.Warn("MPPE required but peer refused", "detail", why)
		c.l.close("MPPE required but peer refused")
		return
	}
	c.l.log.Debug("CCP: " + why + "; not asking for MPPE")
	c.sendMPPE = false
}

// bothWays: MPPE is acked in both directions.
func (c *ccpLayer) bothWays() bool { return c.sendMPPE && c.peerMPPE }

func (c *ccpLayer) up() {
	switch {
	case c.bothWays():
		c.l.retryIPCP()
		c.l.checkNetUp()
	case c.l.mppePolicy().Required:
		c.l.log.Warn("MPPE required but peer refused", "detail", "CCP opened without MPPE in both directions")
		c.l.close("MPPE required but peer refused")
	case c.sendMPPE || c.peerMPPE:
		// DESIGN.md: never a half-encrypted link.
		c.l.close("MPPE negotiated in one direction only")
	default:
		c.l.log.Debug("CCP: opened without compression")
		c.l.ccpDone = true
		c.l.retryIPCP()
		c.l.checkNetUp()
	}
}

func (c *ccpLayer) down()    { c.l.netDown() }
func (c *ccpLayer) started() { c.reset() }

func (c *ccpLayer) finished() {
	if c.l.mppePolicy().Required {
		c.l.log.Warn("MPPE required but peer refused", "detail", "CCP did not open")
		c.l.close("MPPE required but peer refused")
		return
	}
	c.l.log.Debug("CCP: finished, no compression")
	c.l.ccpDone = true
	c.l.checkNetUp()
}

func (c *ccpLayer) other(p Packet) bool {
	switch p.Code {
	case CodeResetReq:
		// RFC 1962 §2.2, RFC 3078 §8.2: acknowledge, and flush our history
		// (the next packet carries the flushed bit). The flush waits until
		// the Reset-Ack has been handed to the wire: a Linux peer passes
		// everything to pppd undecrypted from its first error until a
		// Reset-Ack comes in (ppp_generic's SC_DC_ERROR), so a flushed
		// packet overtaking the Ack would be lost on it. Our data path
		// encrypts and sends under tx.mu, so once it is taken no earlier
		// packet is still on its way out.
		if c.l.ccp.state == StateOpened {
			c.l.sendPacket(ProtoCCP, Packet{Code: CodeResetAck, ID: p.ID})
			c.l.later(func() {
				c.l.tx.mu.Lock()
				if c.l.tx.enc != nil {
					c.l.tx.enc.Flush()
				}
				c.l.tx.mu.Unlock()
			})
		}
	case CodeResetAck:
		// Nothing to do: the decrypter resynchronises on the flushed
		// packet, and the repeat timer stays (see resetReqDue).
	default:
		return false
	}
	return true
}

// sendResetReq asks the peer to flush its encrypter after a lost stateful
// packet (RFC 1962 §2.2, RFC 3078 §8.2): at once for a new gap, again for
// the same one every restart period until the flushed packet comes.
func (c *ccpLayer) sendResetReq() {
	if c.l.ccp.state != StateOpened {
		return
	}
	var gap uint64
	if d, ok := c.l.rx.dec.(interface{ Gaps() uint64 }); ok {
		gap = d.Gaps()
	}
	now := time.Now()
	if !resetReqDue(gap, c.resetGap, c.resetSent, now, c.l.cfg.RestartTimeout) {
		return
	}
	c.resetGap, c.resetSent = gap, now
	c.resetID++
	c.l.sendPacket(ProtoCCP, Packet{Code: CodeResetReq, ID: c.resetID})
}

// resetReqDue says whether a Reset-Request is due for the decrypter's gap
// number gap, the last one having gone out at sent for lastGap. A Reset-Ack
// does not end the wait: it may arrive ahead of the flushed packet, and the
// packets still in flight behind it would otherwise each ask again, making
// the peer flush (and, for Linux, change its key) once per packet.
func resetReqDue(gap, lastGap uint64, sent, now time.Time, interval time.Duration) bool {
	return sent.IsZero() || gap != lastGap || now.Sub(sent) >= interval
}

// mppeOption is the CCP MPPE option carrying b.
func mppeOption(b mppe.Bits) Option {
	return Option{Type: mppe.OptionType, Value: b.Append(nil)}
}

// describe gives pppd's wording, e.g. "MPPE 128-bit stateless", with the
// mode of each direction when they differ (CCP negotiates each direction
// on its own, RFC 1962 §1.2): "MPPE 128-bit stateless send, stateful
// receive".
func (c *ccpLayer) describe() string {
	mode := func(b mppe.Bits) string {
		if b&mppe.BitH != 0 {
			return "stateless"
		}
		return "stateful"
	}
	send, recv := mode(c.peerBits), mode(c.ourBits)
	if send == recv {
		return fmt.Sprintf("MPPE %d-bit %s", c.peerBits.Strongest(), send)
	}
	return fmt.Sprintf("MPPE %d-bit %s send, %s receive", c.peerBits.Strongest(), send, recv)
}
