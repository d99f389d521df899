package ppp

// The automaton's receive events (RFC 1661 §4.1: RCR, RCA, RCN, RTR, RTA,
// RUC, RXJ), one function each, dispatched by input; the administrative
// and timer events and the actions are in fsm.go.

import (
	"bytes"
	"fmt"
)

// input dispatches one received packet of this protocol.
func (f *fsm) input(p Packet) {
	if f.state == StateInitial || f.state == StateStarting {
		// RFC 1661 §4.2: no packets are expected before the lower layer is up.
		f.l.log.Debug(fmt.Sprintf("%v: discarded %v in state %v", f.proto, p.Code, f.state))
		return
	}
	switch p.Code {
	case CodeConfReq:
		f.rcvConfReq(p)
	case CodeConfAck:
		f.rcvConfAck(p)
	case CodeConfNak, CodeConfRej:
		f.rcvConfNakRej(p)
	case CodeTermReq:
		f.rcvTermReq(p)
	case CodeTermAck:
		f.rcvTermAck()
	case CodeCodeRej:
		f.rcvCodeRej(p)
	default:
		if !f.ly.other(p) {
			f.scj(p) // RUC
		}
	}
}

func (f *fsm) rcvConfReq(p Packet) {
	switch f.state {
	case StateClosed:
		f.sta(p.ID)
		return
	case StateClosing, StateStopping:
		return
	}
	opts, err := ParseOptions(p.Data)
	if err != nil {
		f.l.log.Debug(fmt.Sprintf("%v: ConfReq id=0x%x: %v", f.proto, p.ID, err))
		return
	}
	nak, rej, answer := f.checkRequest(opts)
	if !answer {
		return
	}
	good := len(rej) == 0 && len(nak) == 0
	// Stopped and Opened (re)start negotiation: tld/irc, scr, then the
	// answer, in the RFC 1661 §4.1 order. The order matters: a peer that
	// restarted from Opened is in Ack-Sent; our Configure-Request reaching
	// it before our Configure-Ack keeps it there until the Ack opens it.
	// Ack first would open it and our request would then restart it: two
	// implementations that both answer first can restart each other once
	// per round trip for ever (seen with 2000 sessions after a lost packet).
	switch f.state {
	case StateStopped:
		f.irc(true)
		f.scr()
	case StateOpened:
		f.ly.down()
		f.scr()
	}
	switch {
	case good:
		f.failures = 0
		f.sendCtl(CodeConfAck, p.ID, p.Data)
	case len(rej) > 0:
		f.sendCtl(CodeConfRej, p.ID, AppendOptions(nil, rej))
	default:
		f.failures++
		f.sendCtl(CodeConfNak, p.ID, AppendOptions(nil, nak))
	}
	switch f.state {
	case StateStopped:
		if good {
			f.setState(StateAckSent)
		} else {
			f.setState(StateReqSent)
		}
	case StateReqSent:
		if good {
			f.setState(StateAckSent)
		}
	case StateAckRcvd:
		if good {
			f.setState(StateOpened)
			f.ly.up()
		}
	case StateAckSent:
		if !good {
			f.setState(StateReqSent)
		}
	case StateOpened:
		if good {
			f.setState(StateAckSent)
		} else {
			f.setState(StateReqSent)
		}
	}
}

// checkRequest has the layer judge the options of the peer's
// Configure-Request, then applies Max-Failure. answer is false when the
// layer gave up on the link while judging (LCP loopback): no answer then.
func (f *fsm) checkRequest(opts []Option) (nak, rej []Option, answer bool) {
	before := f.state
	nak, rej = f.ly.check(opts)
	if f.state != before || f.l.dead {
		// The layer gave up on the link (LCP loopback); no answer.
		return nil, nil, false
	}
	if len(rej) == 0 && len(nak) > 0 && f.failures >= maxFailure {
		// RFC 1661 §4.6 Max-Failure: stop Nak-ing, Configure-Reject what the
		// peer insists on. Suggestions of options the peer did not ask for
		// cannot be rejected and are dropped.
		for _, o := range opts {
			for _, n := range nak {
				if n.Type == o.Type {
					rej = append(rej, o)
					break
				}
			}
		}
		nak = nil
	}
	return nak, rej, true
}

func (f *fsm) rcvConfAck(p Packet) {
	if p.ID != f.reqID || !bytes.Equal(p.Data, f.reqData) {
		// RFC 1661 §5.2: an Ack must match the outstanding request exactly.
		f.l.log.Debug(fmt.Sprintf("%v: discarded ConfAck id=0x%x not matching request id=0x%x", f.proto, p.ID, f.reqID))
		return
	}
	switch f.state {
	case StateClosed, StateStopped:
		f.sta(p.ID)
	case StateReqSent:
		f.irc(true)
		f.setState(StateAckRcvd)
	case StateAckRcvd:
		// Crossed connection (RFC 1661 §4.1, "x").
		f.scr()
		f.setState(StateReqSent)
	case StateAckSent:
		f.irc(true)
		f.setState(StateOpened)
		f.ly.up()
	case StateOpened:
		f.ly.down()
		f.scr()
		f.setState(StateReqSent)
	}
}

func (f *fsm) rcvConfNakRej(p Packet) {
	if p.ID != f.reqID {
		f.l.log.Debug(fmt.Sprintf("%v: discarded %v id=0x%x not matching request id=0x%x", f.proto, p.Code, p.ID, f.reqID))
		return
	}
	switch f.state {
	case StateClosed, StateStopped:
		f.sta(p.ID)
		return
	case StateClosing, StateStopping:
		return
	}
	opts, err := ParseOptions(p.Data)
	if err != nil {
		f.l.log.Debug(fmt.Sprintf("%v: %v id=0x%x: %v", f.proto, p.Code, p.ID, err))
		return
	}
	if p.Code == CodeConfNak {
		f.ly.gotNak(opts)
	} else {
		f.ly.gotRej(opts)
	}
	if f.state != StateReqSent && f.state != StateAckRcvd && f.state != StateAckSent && f.state != StateOpened {
		// The layer gave up (for instance LCP closing on an unacceptable
		// authentication protocol); nothing more to send.
		return
	}
	switch f.state {
	case StateReqSent, StateAckSent:
		f.irc(true)
		f.scr()
	case StateAckRcvd:
		f.scr()
		f.setState(StateReqSent)
	case StateOpened:
		f.ly.down()
		f.scr()
		f.setState(StateReqSent)
	}
}

func (f *fsm) rcvTermReq(p Packet) {
	switch f.state {
	case StateClosed, StateStopped, StateClosing, StateStopping:
		f.sta(p.ID)
	case StateReqSent, StateAckRcvd, StateAckSent:
		f.sta(p.ID)
		f.setState(StateReqSent)
	case StateOpened:
		f.ly.down()
		f.restart = 0
		f.sta(p.ID)
		f.setState(StateStopping)
		f.startTimer() // zrc: wait one restart period before tlf
	}
}

func (f *fsm) rcvTermAck() {
	switch f.state {
	case StateClosing:
		f.setState(StateClosed)
		f.ly.finished()
	case StateStopping:
		f.setState(StateStopped)
		f.ly.finished()
	case StateAckRcvd:
		f.setState(StateReqSent)
	case StateOpened:
		f.ly.down()
		f.scr()
		f.setState(StateReqSent)
	}
}

func (f *fsm) rcvCodeRej(p Packet) {
	if len(p.Data) == 0 {
		return
	}
	rejected := Code(p.Data[0])
	if rejected >= CodeConfReq && rejected <= maxCommonCode {
		f.rxjBad(fmt.Sprintf("%v: peer rejected code %v", f.proto, rejected))
		return
	}
	f.rxjGood()
}

// rxjGood is RXJ+: a rejection we can live with.
func (f *fsm) rxjGood() {
	if f.state == StateAckRcvd {
		f.setState(StateReqSent)
	}
}

// rxjBad is RXJ-: a catastrophic rejection (RFC 1661 §4.1).
func (f *fsm) rxjBad(why string) {
	f.l.log.Debug(why)
	switch f.state {
	case StateClosed, StateClosing:
		f.setState(StateClosed)
		f.ly.finished()
	case StateStopped, StateStopping, StateReqSent, StateAckRcvd, StateAckSent:
		f.setState(StateStopped)
		f.ly.finished()
	case StateOpened:
		f.ly.down()
		f.irc(false)
		f.str()
		f.setState(StateStopping)
	}
}
