package session

import (
	"net/netip"
	"sync"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// GRE send batching (step 6 of the send path, send.go). A TUN read with
// offloads yields a super-packet split into up to 128 packets, most of
// them for one session; each send loop queues the GRE packets of one read
// in a greBatch (one per shard socket) and sends them with one sendmmsg
// after the read's last packet, instead of one system call each.
//
// The wire order of a session's packets is its sequence-number order,
// which tunMu gives: a packet is numbered and queued (or sent) under it.
// While a session's frames are being queued (ss.batch set, by claim),
// every frame of it joins the same queue, the link's own from other
// goroutines (LCP, CCP, acks) too, so none overtakes a queued one; the
// loop's flush sends the queue and clears ss.batch under tunMu, so no
// frame numbered later can go out first. A frame is copied into the
// queue: the link's own lie in buffers their senders reuse at once, and a
// fragment in the loop's one fragment buffer. Lock order: the link's
// transmit lock, tunMu, greBatch.mu.

// maxGREBatch is the most packets one greBatch holds: gre's own sendmmsg
// batch. A fuller queue is sent on the spot.
const maxGREBatch = 64

// greBatch is GRE packets queued for one shard socket by one send loop.
type greBatch struct {
	mu   sync.Mutex
	conn gre.Conn
	bufs [][]byte      // maxGREBatch buffers of a GRE packet each
	msgs []gre.Message // queued, in bufs[:len(msgs)]
	// errs counts packets a flush could not send since the loop last
	// took it (the loop adds them to SendErrors).
	errs uint64
}

func newGREBatch(conn gre.Conn) *greBatch {
	b := &greBatch{conn: conn, bufs: make([][]byte, maxGREBatch), msgs: make([]gre.Message, 0, maxGREBatch)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, gre.MaxHeaderLen+maxFrame)
	}
	return b
}

// add queues a copy of pkt for to; a full queue is sent first. A packet
// larger than a buffer (sendFrame refuses those) is sent at once, after
// the queue.
func (b *greBatch) add(pkt []byte, to netip.Addr) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(pkt) > gre.MaxHeaderLen+maxFrame {
		b.flushLocked()
		one := [1]gre.Message{{Buf: pkt, N: len(pkt), Addr: to}}
		_, err := b.conn.WriteBatch(one[:])
		return err
	}
	if len(b.msgs) == maxGREBatch {
		b.flushLocked()
	}
	buf := b.bufs[len(b.msgs)]
	n := copy(buf, pkt)
	b.msgs = append(b.msgs, gre.Message{Buf: buf[:n], N: n, Addr: to})
	return nil
}

// flushLocked sends the queue; b.mu held.
func (b *greBatch) flushLocked() {
	if len(b.msgs) == 0 {
		return
	}
	n, err := b.conn.WriteBatch(b.msgs)
	if err != nil {
		b.errs += uint64(len(b.msgs) - max(n, 0))
	}
	clear(b.msgs)
	b.msgs = b.msgs[:0]
}

// claim makes ss's frames join q's queue for its shard until q's flush,
// unless another loop's queue has them already (they go there, and that
// loop sends them). Called by q's loop before it hands ss a packet.
func (q *txQueue) claim(ss *Session) {
	if !q.batching {
		return
	}
	ss.tunMu.Lock()
	if ss.batch == nil {
		ss.batch = q.batches[ss.srv.shardIndex(ss)]
		q.claimed = append(q.claimed, ss)
	}
	ss.tunMu.Unlock()
}

// flush sends what q's loop queued during one TUN read, session by
// session: under each session's tunMu the queue goes out and the session
// stops queueing, so a frame numbered after the queue's is sent after it.
// The first flush sends the frames of every session in that queue; the
// rest find it empty, or with what a session numbered meanwhile.
func (s *Server) flushGRE(q *txQueue) {
	for i, ss := range q.claimed {
		ss.tunMu.Lock()
		b := ss.batch
		b.mu.Lock()
		b.flushLocked()
		b.mu.Unlock()
		ss.batch = nil
		ss.tunMu.Unlock()
		q.claimed[i] = nil
	}
	q.claimed = q.claimed[:0]
	for _, b := range q.batches {
		b.mu.Lock()
		errs := b.errs
		b.errs = 0
		b.mu.Unlock()
		if errs > 0 {
			s.stats.SendErrors.Add(errs)
		}
	}
}
