package ppp

// The data path of a link, in packet order:
//  1. receive: Input -> inputData -> (MPPE decrypt, protocol 0x00FD) -> OnIP
//  2. send:    WriteIP(At) -> (MPPE encrypt) -> frame header (ACFC/PFC) -> SendAt
//     (in place, in the headroom in front of the packet)
// Neither direction allocates per packet: receive uses a buffer owned by the
// (single) Input goroutine; send builds the frame in front of the packet,
// in the caller's headroom (WriteIPAt) or in a scratch buffer under the
// transmit lock (WriteIP, one copy).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// warned: the work-bound drops were logged (under Link.mu)
	warned bool
}

type txState struct {
	mu         sync.Mutex
	up, closed bool
	acfc, pfc  bool // the peer acked them in our LCP request: we may compress
	enc        encrypter
	peerMRU    int
	frame      []byte
	// mru is peerMRU published for PeerMRU without the lock: set before
	// up, cleared when the network phase closes.
	mru atomic.Int32
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
		dst := l.rx.buf[:0]
		if l.cfg.InputInPlace && len(info) >= mppe.HeaderLen {
			// The ciphertext follows the MPPE header: decrypting into
			// info[:HeaderLen] leaves the plaintext where it was.
			dst = info[:mppe.HeaderLen]
		}
		out, err := dec.Decrypt(dst, info)
		if err != nil {
			if isResetNeeded(err) {
				// RFC 1962 §2.2 / RFC 3078 §3.3: ask the peer to flush its history.
				l.ccpL.sendResetReq()
			}
			if bounded := errors.Is(err, mppe.ErrFarJump) || errors.Is(err, mppe.ErrRekeyLimit); bounded && !l.rx.warned {
				// Once per link: a peer that provokes these can send
				// thousands per second; the counters have the rest.
				l.rx.warned = true
				l.log.Warn("MPPE packets dropped to bound decryption work", "reason", err.Error())
			}
			if l.log.Enabled(context.Background(), slog.LevelDebug) {
				// Not built unless wanted: a peer can make this
				// path run at line rate.
				l.log.Debug("MPPE: " + err.Error())
			}
			l.unlock()
			l.stat.drop(DropDecrypt)
			return
		}
		if !l.cfg.InputInPlace {
			l.rx.buf = out[:0] // keep a buffer Decrypt had to grow
		}
		inner, payload, ok := decodeInnerProto(out[len(dst):])
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

// isResetNeeded: a stateful decrypter lost sync and waits for a flushed
// packet, which only a CCP Reset-Request brings (RFC 3078 §8.2). Waiting
// packets count too, so that a lost Reset-Request is sent again.
func isResetNeeded(err error) bool {
	return errors.Is(err, mppe.ErrResetNeeded) || errors.Is(err, mppe.ErrAwaitingFlush)
}

// DataHeadroom is what WriteIPAt writes in front of an IP packet at most:
// the address/control and protocol fields (FF 03 00 FD), the MPPE header and
// the encrypted inner protocol field (00 21).
const DataHeadroom = 4 + mppe.HeaderLen + 2

// Errors returned by WriteIP.
var (
	ErrNotUp    = errors.New("ppp: network phase not open")
	ErrTooBig   = errors.New("ppp: packet larger than the peer's MRU")
	ErrLinkDown = errors.New("ppp: link is down")
)

// WriteIP sends one IPv4 packet to the peer, encrypted when MPPE is in
// force. It is safe to call concurrently with Input and with itself; Send
// is called with the transmit lock held (which keeps stateful MPPE packets
// in order), so Send must not call WriteIP. pkt is copied once, into the
// link's frame buffer behind the headroom, and left as it was.
func (l *Link) WriteIP(pkt []byte) error {
	t := &l.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	off := l.cfg.Headroom + DataHeadroom
	if err := l.checkTx(len(pkt)); err != nil {
		return err
	}
	if need := off + len(pkt); need > len(t.frame) {
		// The first packet, or a peer MRU above 2048: once.
		t.frame = make([]byte, max(need, off+2048))
	}
	n := copy(t.frame[off:], pkt)
	l.sendIP(t.frame[:off+n], off)
	return nil
}

// WriteIPAt is WriteIP for a packet in buf[off:] with room in front of it:
// when off is at least Headroom+DataHeadroom, the PPP and MPPE headers are
// written into buf[:off] and the packet encrypted where it lies, so the frame
// reaches SendAt without being copied (wireguard-go's headroom). buf[off:]
// is overwritten with ciphertext when MPPE is in force. With less room the
// packet is copied first, as WriteIP does.
func (l *Link) WriteIPAt(buf []byte, off int) error {
	if off < l.cfg.Headroom+DataHeadroom {
		return l.WriteIP(buf[off:])
	}
	t := &l.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := l.checkTx(len(buf) - off); err != nil {
		return err
	}
	l.sendIP(buf, off)
	return nil
}

// PeerMRU is the largest IP packet WriteIP and WriteIPAt accept while the
// network phase is open, 0 otherwise: a caller that must fragment or
// answer "fragmentation needed" learns the size without a failed write.
// It is set before the link reports up.
func (l *Link) PeerMRU() int { return int(l.tx.mru.Load()) }

// checkTx says whether an IP packet of n bytes may be sent now. Called with
// the transmit lock held.
func (l *Link) checkTx(n int) error {
	t := &l.tx
	if !t.up {
		l.stat.drop(DropNotUp)
		if t.closed {
			return ErrLinkDown
		}
		return ErrNotUp
	}
	if n > t.peerMRU {
		l.stat.drop(DropTooBig)
		return fmt.Errorf("%w: %d > %d", ErrTooBig, n, t.peerMRU)
	}
	return nil
}

// sendIP frames (and encrypts) the IP packet buf[off:] in place, using the
// DataHeadroom bytes before off, and hands the frame to SendAt with the rest
// of the headroom in front of it. Called with the transmit lock held.
func (l *Link) sendIP(buf []byte, off int) {
	t := &l.tx
	n := len(buf) - off
	var tmp [4]byte
	var start int
	if t.enc != nil {
		// RFC 3078 §3: the protocol field is encrypted with the payload;
		// it is sent uncompressed, which every decrypter accepts.
		hdr := frameHeader(tmp[:0], ProtoCompDG, t.acfc, t.pfc)
		buf[off-2], buf[off-1] = byte(ProtoIPv4>>8), byte(ProtoIPv4)
		start = off - 2 - mppe.HeaderLen - len(hdr)
		copy(buf[start:], hdr)
		// In place: the plaintext sits HeaderLen past the frame header.
		t.enc.Encrypt(buf[start:start+len(hdr)], buf[off-2:])
	} else {
		hdr := frameHeader(tmp[:0], ProtoIPv4, t.acfc, t.pfc)
		start = off - len(hdr)
		copy(buf[start:], hdr)
	}
	l.stat.pktOut.Add(1)
	l.stat.bytesOut.Add(uint64(n))
	l.cfg.SendAt(buf, start)
}
