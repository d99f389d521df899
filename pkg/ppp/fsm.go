package ppp

import (
	"bytes"
	"fmt"
	"time"
)

// State is a state of the option negotiation automaton (RFC 1661 §4.2).
type State uint8

// The ten states of RFC 1661 §4.2, numbered as in its state table.
const (
	StateInitial State = iota
	StateStarting
	StateClosed
	StateStopped
	StateClosing
	StateStopping
	StateReqSent
	StateAckRcvd
	StateAckSent
	StateOpened
)

func (s State) String() string {
	switch s {
	case StateInitial:
		return "Initial"
	case StateStarting:
		return "Starting"
	case StateClosed:
		return "Closed"
	case StateStopped:
		return "Stopped"
	case StateClosing:
		return "Closing"
	case StateStopping:
		return "Stopping"
	case StateReqSent:
		return "Req-Sent"
	case StateAckRcvd:
		return "Ack-Rcvd"
	case StateAckSent:
		return "Ack-Sent"
	case StateOpened:
		return "Opened"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Restart counter defaults of RFC 1661 §4.6.
const (
	maxConfigure = 10
	maxTerminate = 2
	maxFailure   = 5
)

// layer is what LCP, IPCP and CCP plug into the shared automaton: building
// our request, judging the peer's, reacting to answers, and the four
// this-layer actions (RFC 1661 §4.4).
type layer interface {
	// request returns the options of our next Configure-Request.
	request() []Option
	// check judges the peer's Configure-Request. rej lists options to
	// Configure-Reject (copied from the request), nak options to
	// Configure-Nak (with the values we want, possibly options the peer did
	// not include, RFC 1661 §5.3); both empty means Configure-Ack. The layer
	// remembers what the peer asked for; it is used once that request is acked.
	check(opts []Option) (nak, rej []Option)
	// gotNak and gotRej adjust our next request (RFC 1661 §5.3, §5.4).
	gotNak(opts []Option)
	gotRej(opts []Option)
	up()       // tlu
	down()     // tld
	started()  // tls
	finished() // tlf
	// other handles codes beyond Code-Reject (LCP echo, CCP reset); false
	// means unknown, and the automaton answers with Code-Reject (RUC).
	other(p Packet) bool
}

// fsm is the RFC 1661 §4 option negotiation automaton shared by LCP, IPCP
// and CCP. It runs under the link's lock; its restart timer fires through
// the link so that it is serialised with input.
type fsm struct {
	l     *Link
	proto Proto
	ly    layer
	state State

	nextID   uint8
	reqID    uint8  // identifier of our outstanding Configure-Request
	reqData  []byte // its options, to check a Configure-Ack against (RFC 1661 §5.2)
	termID   uint8
	restart  int // restart counter (RFC 1661 §4.6)
	failures int // Configure-Naks sent since the last Configure-Ack
	timer    *time.Timer
	timerGen uint64
	// termReason is the text of our Terminate-Request.
	termReason string
}

func newFSM(l *Link, proto Proto, ly layer) *fsm {
	return &fsm{l: l, proto: proto, ly: ly}
}

func (f *fsm) setState(s State) {
	if f.state != s {
		f.l.log.Debug(fmt.Sprintf("%v: %v -> %v", f.proto, f.state, s))
	}
	f.state = s
	switch s {
	case StateClosing, StateStopping, StateReqSent, StateAckRcvd, StateAckSent:
	default:
		// The restart timer runs only in the states that wait for an answer.
		f.stopTimer()
	}
}

// Events (RFC 1661 §4.1).

// Up: the lower layer is ready.
func (f *fsm) Up() {
	switch f.state {
	case StateInitial:
		f.setState(StateClosed)
	case StateStarting:
		f.irc(true)
		f.scr()
		f.setState(StateReqSent)
	}
}

// Down: the lower layer is gone.
func (f *fsm) Down() {
	switch f.state {
	case StateClosed, StateClosing:
		f.setState(StateInitial)
	case StateStopped:
		f.setState(StateStarting)
		f.ly.started()
	case StateStopping, StateReqSent, StateAckRcvd, StateAckSent:
		f.setState(StateStarting)
	case StateOpened:
		f.setState(StateStarting)
		f.ly.down()
	}
}

// Open: the administrator allows the link.
func (f *fsm) Open() {
	switch f.state {
	case StateInitial:
		f.setState(StateStarting)
		f.ly.started()
	case StateClosed:
		f.irc(true)
		f.scr()
		f.setState(StateReqSent)
	case StateClosing:
		f.setState(StateStopping)
	}
}

// Close: the administrator wants the link down; reason goes in the
// Terminate-Request.
func (f *fsm) Close(reason string) {
	f.termReason = reason
	switch f.state {
	case StateStarting:
		f.setState(StateInitial)
		f.ly.finished()
	case StateStopped:
		f.setState(StateClosed)
	case StateStopping:
		f.setState(StateClosing)
	case StateReqSent, StateAckRcvd, StateAckSent:
		f.irc(false)
		f.str()
		f.setState(StateClosing)
	case StateOpened:
		f.ly.down()
		f.irc(false)
		f.str()
		f.setState(StateClosing)
	}
}

// timeout is the restart timer: TO+ while the counter lasts, then TO-.
func (f *fsm) timeout() {
	if f.restart > 0 {
		switch f.state {
		case StateClosing, StateStopping:
			f.str()
		case StateReqSent, StateAckRcvd:
			f.scr()
			f.setState(StateReqSent)
		case StateAckSent:
			f.scr()
		}
		return
	}
	switch f.state {
	case StateClosing:
		f.setState(StateClosed)
		f.ly.finished()
	case StateReqSent, StateAckRcvd, StateAckSent:
		// pppd's wording; the first reason recorded is what OnDown reports.
		why := fmt.Sprintf("%v: timeout sending Config-Requests", f.proto)
		f.l.log.Info(why)
		f.l.setReason(why)
		f.setState(StateStopped)
		f.ly.finished()
	case StateStopping:
		f.setState(StateStopped)
		f.ly.finished()
	}
}

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

// Actions (RFC 1661 §4.4).

func (f *fsm) irc(configure bool) {
	if configure {
		f.restart = maxConfigure
		f.failures = 0
	} else {
		f.restart = maxTerminate
	}
}

func (f *fsm) scr() {
	f.restart--
	f.nextID++
	f.reqID = f.nextID
	f.reqData = AppendOptions(nil, f.ly.request())
	f.sendCtl(CodeConfReq, f.reqID, f.reqData)
	f.startTimer()
}

func (f *fsm) str() {
	f.restart--
	f.nextID++
	f.termID = f.nextID
	f.sendCtl(CodeTermReq, f.termID, []byte(f.termReason))
	f.startTimer()
}

func (f *fsm) sta(id uint8) { f.sendCtl(CodeTermAck, id, nil) }

// scj sends a Code-Reject carrying the rejected packet (RFC 1661 §5.6),
// truncated to the peer's MRU by the caller's frame size in practice.
func (f *fsm) scj(p Packet) {
	f.nextID++
	f.sendCtl(CodeCodeRej, f.nextID, p.Append(nil))
}

func (f *fsm) sendCtl(code Code, id uint8, data []byte) {
	f.l.sendPacket(f.proto, Packet{Code: code, ID: id, Data: data})
}

func (f *fsm) startTimer() {
	f.stopTimer()
	gen := f.timerGen
	f.timer = f.l.afterFunc(f.l.cfg.RestartTimeout, func() {
		if f.timerGen == gen {
			f.timer = nil
			f.timeout()
		}
	})
}

func (f *fsm) stopTimer() {
	f.timerGen++
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
}
