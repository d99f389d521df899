package ppp

import (
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

// Events (RFC 1661 §4.1); the receive events are in fsm_recv.go.

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
