package ppp

// LCP beyond option negotiation (RFC 1661 §5.7-5.9, RFC 1570): the codes
// the automaton hands to lcpLayer.other (Echo, Protocol-Reject, Discard,
// Identification, Time-Remaining), the Protocol-Reject we send, and the
// Echo-Request keepalive.

import (
	"encoding/binary"
	"fmt"
)

// echoMagicLen is the length of the magic number that opens the data of
// Echo, Discard-Request (RFC 1661 §5.8-5.9), Identification and
// Time-Remaining (RFC 1570 §2).
const echoMagicLen = 4

func (c *lcpLayer) other(p Packet) bool {
	switch p.Code {
	case CodeProtRej:
		c.rcvProtRej(p)
	case CodeEchoReq:
		// RFC 1661 §5.8: answered only in the Opened state.
		if c.l.lcp.state == StateOpened {
			data := binary.BigEndian.AppendUint32(nil, c.ourMagic())
			if len(p.Data) > echoMagicLen {
				data = append(data, p.Data[echoMagicLen:]...)
			}
			c.l.sendPacket(ProtoLCP, Packet{Code: CodeEchoRep, ID: p.ID, Data: data})
		}
	case CodeEchoRep:
		if c.l.lcp.state == StateOpened && len(p.Data) >= echoMagicLen {
			if m := binary.BigEndian.Uint32(p.Data); m != 0 && c.sendMagic && m == c.magic {
				c.l.log.Debug("LCP: echo reply carries our magic number; link looped back?")
				return true
			}
			c.echoPending = 0
		}
	case CodeDiscReq, CodeIdent, CodeTimeRem:
		// RFC 1661 §5.9 and RFC 1570 §2: informational, no answer (a
		// Code-Reject would only make noise with Windows peers).
	default:
		return false
	}
	return true
}

// ourMagic is the magic number in force (0 if the peer rejected it).
func (c *lcpLayer) ourMagic() uint32 {
	if c.sendMagic {
		return c.magic
	}
	return 0
}

// rcvProtRej: the peer does not speak a protocol we sent (RFC 1661 §5.7).
func (c *lcpLayer) rcvProtRej(p Packet) {
	if c.l.lcp.state != StateOpened || len(p.Data) < 2 {
		return
	}
	proto := Proto(binary.BigEndian.Uint16(p.Data))
	switch proto {
	case ProtoLCP:
		c.l.lcp.rxjBad("LCP: peer rejected LCP")
	case ProtoIPCP:
		c.l.ipcp.rxjBad("IPCP: rejected by peer")
	case ProtoCCP:
		c.l.ccp.rxjBad("CCP: rejected by peer")
	default:
		c.l.log.Debug(fmt.Sprintf("LCP: peer rejected protocol %v", proto))
	}
}

// protocolReject answers a frame of a protocol we do not run (RFC 1661
// §5.7), truncated so that it fits the peer's MRU.
func (c *lcpLayer) protocolReject(proto Proto, info []byte) {
	if c.l.lcp.state != StateOpened {
		return
	}
	c.l.stat.drop(DropProtocol)
	data := binary.BigEndian.AppendUint16(nil, uint16(proto))
	if max := c.peerMRU() - packetHeaderLen - len(data); len(info) > max {
		info = info[:max]
	}
	data = append(data, info...)
	c.l.lcp.nextID++
	c.l.sendPacket(ProtoLCP, Packet{Code: CodeProtRej, ID: c.l.lcp.nextID, Data: data})
}

// Keepalive: LCP Echo-Request every EchoInterval; EchoFailure unanswered in
// a row take the link down like pppd's lcp-echo-failure.

func (c *lcpLayer) startEcho() {
	if c.l.cfg.EchoInterval <= 0 {
		return
	}
	c.stopEcho()
	c.echoPending = 0
	c.armEcho()
}

func (c *lcpLayer) armEcho() {
	gen := c.echoGen
	c.echoTimer = c.l.afterFunc(c.l.cfg.EchoInterval, func() {
		if c.echoGen == gen {
			c.echoTick()
		}
	})
}

func (c *lcpLayer) stopEcho() {
	c.echoGen++
	if c.echoTimer != nil {
		c.echoTimer.Stop()
		c.echoTimer = nil
	}
}

func (c *lcpLayer) echoTick() {
	if c.l.lcp.state != StateOpened {
		return
	}
	if c.echoPending >= c.l.cfg.EchoFailure {
		c.l.log.Info(fmt.Sprintf("No response to %d echo-requests", c.echoPending))
		c.l.close("peer not responding")
		return
	}
	c.echoPending++
	c.echoID++
	c.l.sendPacket(ProtoLCP, Packet{Code: CodeEchoReq, ID: c.echoID, Data: binary.BigEndian.AppendUint32(nil, c.ourMagic())})
	c.armEcho()
}
