package gre

import "net/netip"

// Queue holds copies of GRE packets for one WriteBatch (sendmmsg): a
// sender that numbers packets under its own lock queues them there and
// sends the lot once, instead of one system call each. Add copies, so a
// packet whose buffer its sender reuses at once (a PPP control frame, an
// ack) can be queued beside data in its place. The queue's buffers are
// made on the first Add. Not safe for concurrent use: its owner's lock
// covers it.
type Queue struct {
	bufs [][]byte  // QueueLen buffers of QueueMax octets
	msgs []Message // the queued packets, in bufs[:len(msgs)]
	// Unsent counts the packets a WriteBatch of the queue failed to send;
	// the owner reads and resets it.
	Unsent uint64
}

// QueueLen is the most packets a Queue holds: one sendmmsg of the raw
// socket.
const QueueLen = 64

// QueueMax is the largest packet a Queue copies: a GRE header and a PPP
// frame of up to 2048 octets. A larger one is sent at once, after what is
// queued.
const QueueMax = MaxHeaderLen + 2048

// Add queues a copy of pkt for to, sending the queue through conn first
// when it is full (QueueLen packets, one sendmmsg).
func (q *Queue) Add(conn Conn, pkt []byte, to netip.Addr) {
	if len(pkt) > QueueMax {
		q.Flush(conn)
		one := [1]Message{{Buf: pkt, N: len(pkt), Addr: to}}
		if _, err := conn.WriteBatch(one[:]); err != nil {
			q.Unsent++
		}
		return
	}
	if q.bufs == nil {
		q.bufs = make([][]byte, QueueLen)
		for i := range q.bufs {
			q.bufs[i] = make([]byte, QueueMax)
		}
		q.msgs = make([]Message, 0, QueueLen)
	}
	if len(q.msgs) == QueueLen {
		q.Flush(conn)
	}
	buf := q.bufs[len(q.msgs)]
	n := copy(buf, pkt)
	q.msgs = append(q.msgs, Message{Buf: buf[:n], N: n, Addr: to})
}

// Flush sends the queued packets through conn, in order.
func (q *Queue) Flush(conn Conn) {
	if len(q.msgs) == 0 {
		return
	}
	n, err := conn.WriteBatch(q.msgs)
	if err != nil {
		q.Unsent += uint64(len(q.msgs) - max(n, 0))
	}
	clear(q.msgs)
	q.msgs = q.msgs[:0]
}
