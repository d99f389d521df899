package ppp

// The data path of a link, in packet order:
//  1. receive: Input -> inputData -> (MPPE decrypt, protocol 0x00FD) -> OnIP
//  2. send:    WriteIP -> (MPPE encrypt) -> frame header (ACFC/PFC) -> Send
// Neither direction allocates per packet: receive uses a buffer owned by the
// (single) Input goroutine, send a scratch buffer under the transmit lock.

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// encrypter and decrypter are the per-direction MPPE ciphers (pkg/mppe).
type encrypter interface {
	Encrypt(dst, payload []byte) []byte
	Flush()
}

type decrypter interface {
	Decrypt(dst, pkt []byte) ([]byte, error)
}

type rxState struct {
	dec decrypter // under Link.mu
	buf []byte    // owned by the Input goroutine
}

type txState struct {
	mu         sync.Mutex
	up, closed bool
	acfc, pfc  bool // the peer acked them in our LCP request: we may compress
	enc        encrypter
	peerMRU    int
	frame      []byte
}

// DropReason classifies discarded packets in Stats.
type DropReason int

const (
	DropMalformed   DropReason = iota // undecodable frame or packet
	DropNotUp                         // data before the network phase opened, or after it closed
	DropUnencrypted                   // plain IP while MPPE is in force or required
	DropDecrypt                       // MPPE packet that could not be decrypted (lost sync, bad header)
	DropProtocol                      // an inner protocol other than IPv4
	DropTooBig                        // larger than the peer's MRU
	NumDropReasons
)

func (r DropReason) String() string {
	switch r {
	case DropMalformed:
		return "malformed"
	case DropNotUp:
		return "not-up"
	case DropUnencrypted:
		return "unencrypted"
	case DropDecrypt:
		return "decrypt"
	case DropProtocol:
		return "protocol"
	case DropTooBig:
		return "too-big"
	}
	return fmt.Sprintf("DropReason(%d)", int(r))
}

// Stats counts IP packets (PacketsIn/Out, BytesIn/Out are IP bytes),
// control packets and drops.
type Stats struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
	ControlIn, ControlOut uint64
	Drops                 [NumDropReasons]uint64
}

type stats struct {
	pktIn, pktOut, bytesIn, bytesOut atomic.Uint64
	ctlIn, ctlOut                    atomic.Uint64
	drops                            [NumDropReasons]atomic.Uint64
}

func (s *stats) drop(r DropReason) { s.drops[r].Add(1) }

// Stats returns a snapshot of the link's counters.
func (l *Link) Stats() Stats {
	s := &l.stat
	out := Stats{
		PacketsIn: s.pktIn.Load(), PacketsOut: s.pktOut.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		ControlIn: s.ctlIn.Load(), ControlOut: s.ctlOut.Load(),
	}
	for i := range s.drops {
		out.Drops[i] = s.drops[i].Load()
	}
	return out
}

// inputData handles IP (0x0021) and MPPE (0x00FD) frames.
func (l *Link) inputData(proto Proto, info []byte) {
	l.lock()
	if !l.netUp {
		l.unlock()
		l.stat.drop(DropNotUp)
		return
	}
	var pkt []byte
	if proto == ProtoCompDG {
		dec := l.rx.dec
		if dec == nil {
			l.unlock()
			l.stat.drop(DropUnencrypted)
			return
		}
		out, err := dec.Decrypt(l.rx.buf[:0], info)
		if err != nil {
			if isResetNeeded(err) {
				// RFC 1962 §2.2 / RFC 3078 §3.3: ask the peer to flush its history.
				l.ccpL.sendResetReq()
			}
			l.log.Debug("MPPE: " + err.Error())
			l.unlock()
			l.stat.drop(DropDecrypt)
			return
		}
		l.rx.buf = out[:0]
		inner, payload, ok := decodeInnerProto(out)
		if !ok || inner != ProtoIPv4 {
			l.unlock()
			l.stat.drop(DropProtocol)
			return
		}
		pkt = payload
	} else if l.rx.dec != nil || l.mppePolicy().Required {
		// pppd's "discarding unencrypted packet": with MPPE in force a
		// plaintext frame is either an attack or a broken peer.
		l.unlock()
		l.stat.drop(DropUnencrypted)
		return
	} else {
		pkt = info
	}
	l.unlock()
	l.stat.pktIn.Add(1)
	l.stat.bytesIn.Add(uint64(len(pkt)))
	if on := l.cfg.OnIP; on != nil {
		on(pkt)
	}
}

// decodeInnerProto reads the protocol field inside a decrypted MPPE packet,
// which peers may send compressed (RFC 1661 §6.5).
func decodeInnerProto(b []byte) (Proto, []byte, bool) {
	if len(b) >= 1 && b[0]&1 == 1 {
		return Proto(b[0]), b[1:], true
	}
	if len(b) < 2 || b[1]&1 == 0 {
		return 0, nil, false
	}
	return Proto(b[0])<<8 | Proto(b[1]), b[2:], true
}

// WriteIP sends one IPv4 packet to the peer, encrypted when MPPE is in
// force. It is safe to call concurrently with Input and with itself; Send
// is called with the transmit lock held (which keeps stateful MPPE packets
// in order), so Send must not call WriteIP.
func (l *Link) WriteIP(pkt []byte) error {
	t := &l.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.up {
		l.stat.drop(DropNotUp)
		if t.closed {
			return ErrLinkDown
		}
		return ErrNotUp
	}
	if len(pkt) > t.peerMRU {
		l.stat.drop(DropTooBig)
		return fmt.Errorf("%w: %d > %d", ErrTooBig, len(pkt), t.peerMRU)
	}
	var frame []byte
	if t.enc != nil {
		// RFC 3078 §3: the protocol field is encrypted with the payload;
		// it is sent uncompressed, which every decrypter accepts. The
		// plaintext is laid out behind room for the MPPE header and
		// encrypted in place.
		hdr := frameHeader(t.frame[:0], ProtoCompDG, t.acfc, t.pfc)
		n := len(hdr)
		buf := append(hdr, 0, 0, byte(ProtoIPv4>>8), byte(ProtoIPv4))
		buf = append(buf, pkt...)
		frame = t.enc.Encrypt(buf[:n], buf[n+mppe.HeaderLen:])
	} else {
		frame = AppendFrame(t.frame[:0], ProtoIPv4, pkt, t.acfc, t.pfc)
	}
	t.frame = frame[:0]
	l.stat.pktOut.Add(1)
	l.stat.bytesOut.Add(uint64(len(pkt)))
	l.cfg.Send(frame)
	return nil
}
