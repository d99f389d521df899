package gre

import (
	"sync"
	"time"
)

// TunnelConfig describes one call's data channel from our side.
type TunnelConfig struct {
	// PeerCallID is the call ID the peer assigned (the Call ID in its
	// Outgoing-Call-Request or Reply); it is the key of every packet we send.
	PeerCallID uint16
	// PeerWindow is the peer's Packet Receive Window Size from its
	// Outgoing-Call-Request/Reply (RFC 2637 §2.7, §4.4): how many data packets
	// it accepts beyond the last one it acknowledged. 0 means unknown.
	PeerWindow uint16
	// AckDelay is how long a received data packet may wait for an outgoing
	// data packet to carry its acknowledgment before a standalone ack is due
	// (RFC 2637 §4.4 lets the receiver delay acks). 0 acks at the next AckDue.
	AckDelay time.Duration
}

// TunnelStats counts what a Tunnel saw. Lost is the sum of sequence gaps:
// packets the peer sent that never arrived or arrived too late.
type TunnelStats struct {
	RxData         uint64 // data packets delivered
	RxOld          uint64 // duplicate or older data packets dropped
	RxLost         uint64 // sequence numbers skipped
	RxFarJump      uint64 // data packets dropped: more than MaxSeqJump ahead
	RxResync       uint64 // far jumps followed after farResync of them in a row
	RxAckOnly      uint64 // packets without payload (standalone acks)
	RxBadAck       uint64 // acks for sequence numbers we never sent
	TxData         uint64 // data packets sent
	TxAckOnly      uint64 // standalone acks sent
	WindowExceeded uint64 // data packets sent with the peer's window full
}

// Tunnel is our side of one call's enhanced GRE channel (RFC 2637 §4.2-4.4):
// it numbers outgoing data packets, decides which incoming ones to deliver,
// and tracks which acknowledgment is owed to the peer. It does no I/O and is
// safe for one sending and one receiving goroutine at once.
//
// Receive policy: PPP tolerates loss and reordering badly, so a data packet
// is delivered when its sequence number is newer than the last delivered one
// (in serial-number order, so the 32-bit wrap is seamless) and dropped when
// it is the same or older. Gaps are counted, not waited for. This is what the
// Linux pptp driver and pppd's peers do; they also accept the first packet
// whatever its number, as we do.
//
// Send policy: the first data packet carries sequence number 1, as the
// Linux driver and pptp-linux number theirs (pptp-linux starts its ack
// bookkeeping at 0, so it would never acknowledge a packet 0); every data
// packet carries the ack of the newest delivered packet when that ack has not
// been sent yet. The peer's receive window is honoured loosely: we never
// hold back a packet (the dataplane must not block on one slow peer), we
// count the packets sent while more than PeerWindow are unacknowledged.
type Tunnel struct {
	cfg TunnelConfig

	mu sync.Mutex
	// send side
	seqNext  uint32 // sequence number of the next data packet
	sentAny  bool
	ackRecv  uint32 // newest ack from the peer, valid if ackedAny
	ackedAny bool
	// receive side
	seqRecv      uint32 // newest delivered sequence number, valid if recvAny
	recvAny      bool
	ackSent      uint32 // last ack we sent, valid if ackSentAny
	ackSentAny   bool
	pendingSince time.Time // first AckDue that saw an unsent ack; zero if none
	farRun       int       // far packets dropped in a row, in order among themselves
	farLast      uint32    // the newest of them, valid if farRun > 0
	stats        TunnelStats
}

// firstSeq is the sequence number of a call's first data packet.
const firstSeq = 1

// NewTunnel returns the state of a fresh call.
func NewTunnel(cfg TunnelConfig) *Tunnel {
	return &Tunnel{cfg: cfg, seqNext: firstSeq}
}

// newer reports whether a comes after b in 32-bit serial-number order
// (the sequence space wraps; RFC 2637 §4.4 numbers are mod 2^32).
func newer(a, b uint32) bool { return int32(a-b) > 0 }

// MaxSeqJump is how far ahead of the newest delivered sequence number a
// data packet may be and still be delivered. Without a bound, one stray
// packet far ahead (a bit error in the sequence number, a late packet of an
// earlier call that had the same call ID, a spoofed one) moves the window so
// that every genuine packet after it reads as old: the call is dead. A
// peer honouring our receive window (64, RFC 2637 §2.7) never jumps more
// than that; one ignoring it (the Linux driver does not wait for acks)
// jumps by the length of a lost run, and 4096 covers 0.4 s of total loss at
// 10,000 packets/s. A longer outage would still end the call for good, so
// farResync far packets in a row, each newer than the one before and within
// MaxSeqJump of it, with no packet in the window between them, are taken as
// the peer's stream resuming: the last of them is delivered and the window
// moves there. This defeats single stray packets, not a spoofer who can
// send a run; the source address check, the random call ID and the
// sequence number to be guessed are the defences against those.
const MaxSeqJump = 4096

// farResync is the run of far packets after which the tunnel follows them.
const farResync = 8

// Verdict is what Receive decided about a packet.
type Verdict int

const (
	Deliver Verdict = iota // a data packet to hand to PPP
	AckOnly                // no sequence number: nothing to deliver
	Old                    // a duplicate or an older data packet: dropped
	FarJump                // more than MaxSeqJump ahead: dropped
)

// Receive processes the header of a packet from the peer (already matched to
// this call by its Call ID) and reports whether its payload is to be
// delivered to PPP. An acknowledgment in it updates the send window.
func (t *Tunnel) Receive(h Header) (deliver bool) { return t.ReceiveVerdict(h) == Deliver }

// ReceiveVerdict is Receive saying why a packet is not delivered.
func (t *Tunnel) ReceiveVerdict(h Header) Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h.HasAck {
		t.receiveAck(h.Ack)
	}
	if !h.HasSeq {
		t.stats.RxAckOnly++
		return AckOnly
	}
	if t.recvAny && !newer(h.Seq, t.seqRecv) {
		t.stats.RxOld++
		return Old
	}
	if t.recvAny && h.Seq-t.seqRecv > MaxSeqJump {
		if t.farRun > 0 && newer(h.Seq, t.farLast) && h.Seq-t.farLast <= MaxSeqJump {
			t.farRun++
		} else {
			t.farRun = 1
		}
		t.farLast = h.Seq
		if t.farRun < farResync {
			t.stats.RxFarJump++
			return FarJump
		}
		t.stats.RxResync++
	}
	t.farRun = 0
	if t.recvAny {
		t.stats.RxLost += uint64(h.Seq - t.seqRecv - 1)
	}
	t.seqRecv = h.Seq
	t.recvAny = true
	t.stats.RxData++
	return Deliver
}

// receiveAck records the peer's acknowledgment of our data packets. An ack
// older than the newest one is a reordered packet and ignored; an ack of a
// packet we have not sent is counted and ignored.
func (t *Tunnel) receiveAck(ack uint32) {
	if !t.sentAny || newer(ack, t.seqNext-1) {
		t.stats.RxBadAck++
		return
	}
	if !t.ackedAny || newer(ack, t.ackRecv) {
		t.ackRecv = ack
		t.ackedAny = true
	}
}

// ackOwed reports whether the newest delivered packet is unacknowledged.
func (t *Tunnel) ackOwed() bool {
	return t.recvAny && (!t.ackSentAny || t.ackSent != t.seqRecv)
}

// takeAck marks the newest delivered sequence number as acknowledged and
// returns it.
func (t *Tunnel) takeAck() uint32 {
	t.ackSent = t.seqRecv
	t.ackSentAny = true
	t.pendingSince = time.Time{}
	return t.seqRecv
}

// NextHeader returns the header for the next data packet of payloadLen bytes
// to the peer: the next sequence number, and the owed ack piggy-backed.
func (t *Tunnel) NextHeader(payloadLen int) Header {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := Header{CallID: t.cfg.PeerCallID, PayloadLen: uint16(payloadLen), HasSeq: true, Seq: t.seqNext}
	if t.cfg.PeerWindow > 0 && t.unacked() >= uint32(t.cfg.PeerWindow) {
		t.stats.WindowExceeded++
	}
	t.seqNext++
	t.sentAny = true
	if t.ackOwed() {
		h.HasAck = true
		h.Ack = t.takeAck()
	}
	t.stats.TxData++
	return h
}

// unacked is the number of data packets sent and not yet acknowledged.
func (t *Tunnel) unacked() uint32 {
	switch {
	case !t.sentAny:
		return 0
	case !t.ackedAny:
		return t.seqNext - firstSeq
	}
	return t.seqNext - t.ackRecv - 1
}

// AckDue is called from the session's timer. It reports whether a
// standalone ack is due: a delivered packet has waited at least AckDelay
// (counted from the first AckDue call that saw it, so the timer period adds
// to the delay) without an outgoing data packet to carry its ack. When ok,
// the ack counts as sent and the caller sends AckHeader(ack).
func (t *Tunnel) AckDue(now time.Time) (ack uint32, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ackOwed() {
		t.pendingSince = time.Time{}
		return 0, false
	}
	if t.pendingSince.IsZero() {
		t.pendingSince = now
	}
	if now.Sub(t.pendingSince) < t.cfg.AckDelay {
		return 0, false
	}
	t.stats.TxAckOnly++
	return t.takeAck(), true
}

// AckHeader is the header of a standalone acknowledgment: A set, S clear,
// no payload (RFC 2637 §4.1).
func (t *Tunnel) AckHeader(ack uint32) Header {
	return Header{CallID: t.cfg.PeerCallID, HasAck: true, Ack: ack}
}

// Stats returns a snapshot of the counters.
func (t *Tunnel) Stats() TunnelStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}
