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

// greBatch is one send loop's gre.Queue for one shard socket, under its
// own lock: the loop's frames and, while it claims a session, that
// session's frames from other goroutines meet there.
type greBatch struct {
	mu   sync.Mutex
	conn gre.Conn
	q    gre.Queue
}

func newGREBatch(conn gre.Conn) *greBatch { return &greBatch{conn: conn} }

// add queues a copy of pkt for to (gre.Queue.Add).
func (b *greBatch) add(pkt []byte, to netip.Addr) {
	b.mu.Lock()
	b.q.Add(b.conn, pkt, to)
	b.mu.Unlock()
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
		b.q.Flush(b.conn)
		b.mu.Unlock()
		ss.batch = nil
		ss.tunMu.Unlock()
		q.claimed[i] = nil
	}
	q.claimed = q.claimed[:0]
	for _, b := range q.batches {
		b.mu.Lock()
		errs := b.q.Unsent
		b.q.Unsent = 0
		b.mu.Unlock()
		if errs > 0 {
			s.stats.SendErrors.Add(errs)
		}
	}
}
