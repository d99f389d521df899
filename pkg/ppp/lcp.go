package ppp

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// LCP configuration option types (RFC 1661 §6, RFC 1570).
const (
	lcpMRU       = 1
	lcpACCM      = 2 // RFC 1662 §7.1
	lcpAuth      = 3
	lcpQuality   = 4
	lcpMagic     = 5
	lcpPFC       = 7
	lcpACFC      = 8
	minMRU       = 128 // pppd's PPP_MINMRU; smaller values are Nak-ed up to it
	defaultMRU   = 1500
	maxLoopbacks = 5
)

// CHAP algorithm octets of the Authentication-Protocol option (RFC 1994
// §3, RFC 2433 §2, RFC 2759 §2).
const (
	chapMD5    = 5
	chapMSv1   = 0x80
	chapMSv2   = 0x81
	authOptLen = 2 // PAP: protocol only
	chapOptLen = 3 // CHAP: protocol and algorithm
)

// authOption encodes p as the value of an Authentication-Protocol option.
func authOption(p AuthProto) Option {
	switch p {
	case AuthPAP:
		return optU16(lcpAuth, uint16(ProtoPAP))
	case AuthCHAPMD5:
		return Option{lcpAuth, []byte{byte(ProtoCHAP >> 8), byte(ProtoCHAP & 0xff), chapMD5}}
	case AuthMSCHAPv1:
		return Option{lcpAuth, []byte{byte(ProtoCHAP >> 8), byte(ProtoCHAP & 0xff), chapMSv1}}
	default:
		return Option{lcpAuth, []byte{byte(ProtoCHAP >> 8), byte(ProtoCHAP & 0xff), chapMSv2}}
	}
}

// parseAuthOption decodes an Authentication-Protocol value.
func parseAuthOption(v []byte) (AuthProto, bool) {
	switch {
	case len(v) == authOptLen && Proto(binary.BigEndian.Uint16(v)) == ProtoPAP:
		return AuthPAP, true
	case len(v) == chapOptLen && Proto(binary.BigEndian.Uint16(v)) == ProtoCHAP:
		switch v[2] {
		case chapMD5:
			return AuthCHAPMD5, true
		case chapMSv1:
			return AuthMSCHAPv1, true
		case chapMSv2:
			return AuthMSCHAPv2, true
		}
	}
	return AuthNone, false
}

// lcpPeer is what the peer's last checked Configure-Request asked for.
type lcpPeer struct {
	mru        uint16
	magic      uint32
	pfc, acfc  bool
	auth       AuthProto // client role: the protocol the server wants
	hasMRU     bool
	hasMagic   bool
	authWanted bool
}

// lcpLayer is LCP (RFC 1661) on the shared automaton.
type lcpLayer struct {
	l *Link

	// Our request.
	mru         uint16
	sendMRU     bool
	magic       uint32
	sendMagic   bool
	sendPFC     bool
	sendACFC    bool
	authIdx     int // server: index in Config.Auth of the protocol we ask for
	authRefused bool

	// The peer's last checked request (in force once acked).
	peer      lcpPeer
	loopbacks int

	echoTimer   *time.Timer
	echoGen     uint64
	echoPending int
	echoID      uint8
}

func newLCP(l *Link) *lcpLayer {
	return &lcpLayer{l: l, mru: l.cfg.MRU, sendMRU: true, sendMagic: true, sendPFC: true, sendACFC: true}
}

func (c *lcpLayer) newMagic() {
	var b [4]byte
	for c.magic == 0 {
		if _, err := c.l.cfg.Rand.Read(b[:]); err != nil {
			// A broken random source must not stall negotiation; the
			// time gives a usable, if guessable, magic number.
			binary.BigEndian.PutUint32(b[:], uint32(time.Now().UnixNano()))
		}
		c.magic = binary.BigEndian.Uint32(b[:])
	}
}

func (c *lcpLayer) request() []Option {
	var opts []Option
	if c.sendMRU {
		opts = append(opts, optU16(lcpMRU, c.mru))
	}
	if c.l.cfg.Role == Server && c.authIdx < len(c.l.cfg.Auth) {
		opts = append(opts, authOption(c.l.cfg.Auth[c.authIdx]))
	}
	if c.sendMagic {
		if c.magic == 0 {
			c.newMagic()
		}
		opts = append(opts, optU32(lcpMagic, c.magic))
	}
	if c.sendPFC {
		opts = append(opts, optFlag(lcpPFC))
	}
	if c.sendACFC {
		opts = append(opts, optFlag(lcpACFC))
	}
	return opts
}

func (c *lcpLayer) check(opts []Option) (nak, rej []Option) {
	p := &c.peer
	*p = lcpPeer{}
	for _, o := range opts {
		switch o.Type {
		case lcpMRU:
			if len(o.Value) != 2 {
				rej = append(rej, o)
				continue
			}
			v := binary.BigEndian.Uint16(o.Value)
			if v < minMRU {
				nak = append(nak, optU16(lcpMRU, minMRU))
				continue
			}
			p.mru, p.hasMRU = v, true
		case lcpACCM:
			// Async control character map: meaningless without HDLC
			// framing (PPTP), accepted and ignored (RFC 2637 §4.5).
			if len(o.Value) != 4 {
				rej = append(rej, o)
			}
		case lcpAuth:
			if c.l.cfg.Role == Server {
				// We do not authenticate ourselves to dial-in clients.
				rej = append(rej, o)
				continue
			}
			ap, ok := parseAuthOption(o.Value)
			if ok && slices.Contains(c.l.cfg.Auth, ap) {
				p.auth, p.authWanted = ap, true
				continue
			}
			// RFC 1661 §6.2: Nak with the protocol we would use.
			c.l.log.Info(fmt.Sprintf("LCP: peer asks for auth %s, not allowed; suggesting %v", authName(o.Value), c.l.cfg.Auth[0]))
			nak = append(nak, authOption(c.l.cfg.Auth[0]))
		case lcpMagic:
			if len(o.Value) != 4 {
				rej = append(rej, o)
				continue
			}
			v := binary.BigEndian.Uint32(o.Value)
			if v == 0 || (c.sendMagic && v == c.magic) {
				// RFC 1661 §6.4: zero is illegal; our own number suggests a
				// looped-back link. Nak with a fresh number either way.
				if v != 0 {
					c.loopbacks++
					if c.loopbacks >= maxLoopbacks {
						c.l.close("serial line is looped back")
						return nil, nil
					}
				}
				nak = append(nak, optU32(lcpMagic, c.randomU32()))
				continue
			}
			p.magic, p.hasMagic = v, true
		case lcpPFC, lcpACFC:
			if len(o.Value) != 0 {
				rej = append(rej, o)
				continue
			}
			if o.Type == lcpPFC {
				p.pfc = true
			} else {
				p.acfc = true
			}
		default:
			rej = append(rej, o)
		}
	}
	if c.l.cfg.Role == Client && !p.authWanted && len(rej) == 0 && len(nak) == 0 {
		c.l.log.Debug("LCP: peer does not ask us to authenticate")
	}
	return nak, rej
}

func (c *lcpLayer) randomU32() uint32 {
	var b [4]byte
	if _, err := c.l.cfg.Rand.Read(b[:]); err != nil {
		return uint32(time.Now().UnixNano()) | 1
	}
	if v := binary.BigEndian.Uint32(b[:]); v != 0 {
		return v
	}
	return 1
}

func (c *lcpLayer) gotNak(opts []Option) {
	for _, o := range opts {
		switch o.Type {
		case lcpMRU:
			if len(o.Value) == 2 {
				if v := binary.BigEndian.Uint16(o.Value); v >= minMRU && v <= c.l.cfg.MRU {
					c.mru = v
				}
			}
		case lcpMagic:
			// RFC 1661 §6.4: pick a new random number.
			c.magic = 0
			c.newMagic()
		case lcpAuth:
			if c.l.cfg.Role == Server {
				c.authNak(o.Value)
			}
		case lcpPFC:
			c.sendPFC = false
		case lcpACFC:
			c.sendACFC = false
		}
	}
}

// authNak moves our Authentication-Protocol request after the peer Nak-ed
// it: to the protocol it suggests if the config allows it, else to the next
// allowed one; with none left the link is closed, saying why.
func (c *lcpLayer) authNak(v []byte) {
	cur := c.l.cfg.Auth[c.authIdx]
	want, ok := parseAuthOption(v)
	if ok {
		if i := slices.Index(c.l.cfg.Auth, want); i >= 0 && want != cur {
			c.l.log.Info(fmt.Sprintf("LCP: peer refused %v, switching to %v", cur, want))
			c.authIdx = i
			return
		}
	}
	for i := c.authIdx + 1; i < len(c.l.cfg.Auth); i++ {
		next := c.l.cfg.Auth[i]
		if next == cur {
			continue
		}
		c.l.log.Info(fmt.Sprintf("LCP: peer refused %v (wants %s, not allowed), trying %v", cur, authName(v), next))
		c.authIdx = i
		return
	}
	msg := fmt.Sprintf("peer refused %v, no other allowed protocol", authLabel(cur))
	if ok {
		msg += fmt.Sprintf(" (peer wants %v)", authLabel(want))
	}
	c.l.log.Warn("LCP: " + msg)
	c.authRefused = true
	c.l.close(msg)
}

func (c *lcpLayer) gotRej(opts []Option) {
	for _, o := range opts {
		switch o.Type {
		case lcpMRU:
			c.sendMRU = false
		case lcpMagic:
			c.sendMagic = false
		case lcpPFC:
			c.sendPFC = false
		case lcpACFC:
			c.sendACFC = false
		case lcpAuth:
			if c.l.cfg.Role == Server {
				// RFC 1661 §5.4: a rejected option is not negotiable at all,
				// so no other protocol is worth offering.
				msg := fmt.Sprintf("peer refused to authenticate (rejected %v)", authLabel(c.l.cfg.Auth[c.authIdx]))
				c.l.log.Warn("LCP: " + msg)
				c.authRefused = true
				c.l.close(msg)
				return
			}
		}
	}
}

func (c *lcpLayer) up()       { c.l.lcpUp() }
func (c *lcpLayer) down()     { c.l.lcpDown() }
func (c *lcpLayer) started()  {}
func (c *lcpLayer) finished() { c.l.lcpFinished() }

// lcpUp: LCP opened; authenticate or go straight to the network phase.
func (l *Link) lcpUp() {
	l.lcpL.applyTx()
	l.lcpL.startEcho()
	if l.authNeeded() {
		l.setPhase(PhaseAuthenticate)
		l.authStart()
		return
	}
	l.startNetwork()
}

// lcpDown: LCP left Opened; everything above it goes down (RFC 1661 §4.4 tld).
func (l *Link) lcpDown() {
	l.lcpL.stopEcho()
	l.authStop()
	l.netDown()
	l.ipcp.Down()
	l.ccp.Down()
	if l.phase != PhaseTerminate {
		l.setPhase(PhaseEstablish)
	}
}

// lcpFinished: LCP reached Closed or Stopped; the lower layer may go.
func (l *Link) lcpFinished() {
	l.setReason("LCP negotiation failed")
	l.linkDead()
}

// negotiatedAuth is the protocol the peer must use with us (server) or we
// with the peer (client); AuthNone when there is none.
func (c *lcpLayer) negotiatedAuth() AuthProto {
	if c.l.cfg.Role == Server {
		if c.authIdx < len(c.l.cfg.Auth) {
			return c.l.cfg.Auth[c.authIdx]
		}
		return AuthNone
	}
	if c.peer.authWanted {
		return c.peer.auth
	}
	return AuthNone
}

// peerMRU is the largest information field the peer accepts (RFC 1661 §6.1).
func (c *lcpLayer) peerMRU() int {
	if c.peer.hasMRU {
		return int(c.peer.mru)
	}
	return defaultMRU
}

// applyTx sets frame compression towards the peer once LCP is open. The
// peer's own (acked) request for PFC/ACFC says it can receive compressed
// fields (RFC 1661 §6.5, §6.6), so those, not ours, drive what we send.
func (c *lcpLayer) applyTx() {
	t := &c.l.tx
	t.mu.Lock()
	t.pfc, t.acfc = c.peer.pfc, c.peer.acfc
	t.mu.Unlock()
}

// authName describes a raw Authentication-Protocol value for logs.
func authName(v []byte) string {
	if p, ok := parseAuthOption(v); ok {
		return authLabel(p)
	}
	if len(v) >= 2 {
		return fmt.Sprintf("protocol 0x%04x", binary.BigEndian.Uint16(v))
	}
	return "nothing"
}
