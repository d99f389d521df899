package gre

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Message is one GRE packet in a batch. On read, the caller provides Buf;
// ReadBatch stores the GRE packet (IP header removed) in Buf[:N] and the
// sender in Addr. A packet longer than Buf is truncated to len(Buf); an entry
// with N == 0 held nothing usable (say, a malformed IP header) and is to be
// skipped. On write, Buf[:N] is the GRE packet (header included) and Addr
// the destination; the IP header is added below.
type Message struct {
	Buf  []byte
	N    int
	Addr netip.Addr
}

// Conn moves GRE packets in batches. ReadBatch blocks until at least one
// packet is there and fills msgs[:n]; WriteBatch sends msgs[:n] and returns
// n < len(msgs) only with an error. Close unblocks both with net.ErrClosed.
// One reader and one writer may use a Conn at the same time.
type Conn interface {
	ReadBatch(msgs []Message) (int, error)
	WriteBatch(msgs []Message) (int, error)
	Close() error
}

// checkWrite rejects a message whose N does not fit its buffer: the kernel
// would otherwise read past the slice.
func checkWrite(m *Message) error {
	if m.N < 0 || m.N > len(m.Buf) {
		return fmt.Errorf("gre: write: N %d outside buffer of %d bytes", m.N, len(m.Buf))
	}
	return nil
}

// pipeQueue is how many packets a pipe end buffers before writers block.
const pipeQueue = 1024

// pipeBufSize is the size of the pipe's pooled packet buffers; a bigger
// packet gets a buffer of its own.
const pipeBufSize = 2048

type pipePacket struct {
	buf  *[]byte // from the pipe's pool; the packet is (*buf)[:n]
	n    int
	from netip.Addr
}

// pipeEnd is one side of NewPipe.
type pipeEnd struct {
	addr netip.Addr
	in   chan pipePacket // packets addressed to this end
	done chan struct{}   // closed by Close
	once sync.Once
	peer *pipeEnd
	// bufs is shared by both ends: a writer takes a buffer for each packet
	// in flight, the reader puts it back once copied out, so a pipe moves
	// packets without allocating (wireguard-go's pools).
	bufs *sync.Pool
}

// NewPipe returns two connected in-memory Conns with addresses a and b, for
// tests of the dataplane without raw sockets (wireguard-go's bindtest shape).
// A packet written to the other end's address is delivered there with the
// writer's address as Addr; a packet to any other address is dropped, as the
// network would. Writers block while the reader's queue is full, so tests see
// no loss they did not make themselves.
func NewPipe(a, b netip.Addr) (Conn, Conn) {
	bufs := &sync.Pool{New: func() any { b := make([]byte, pipeBufSize); return &b }}
	ea := &pipeEnd{addr: a, in: make(chan pipePacket, pipeQueue), done: make(chan struct{}), bufs: bufs}
	eb := &pipeEnd{addr: b, in: make(chan pipePacket, pipeQueue), done: make(chan struct{}), bufs: bufs}
	ea.peer, eb.peer = eb, ea
	return ea, eb
}

func (e *pipeEnd) ReadBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	var p pipePacket
	select {
	case p = <-e.in:
	case <-e.done:
		return 0, net.ErrClosed
	}
	n := 0
	for {
		msgs[n].N = copy(msgs[n].Buf, (*p.buf)[:p.n])
		msgs[n].Addr = p.from
		e.bufs.Put(p.buf)
		n++
		if n == len(msgs) {
			return n, nil
		}
		select {
		case p = <-e.in:
		default:
			return n, nil
		}
	}
}

func (e *pipeEnd) WriteBatch(msgs []Message) (int, error) {
	for i := range msgs {
		select {
		case <-e.done:
			return i, net.ErrClosed
		default:
		}
		if err := checkWrite(&msgs[i]); err != nil {
			return i, err
		}
		if msgs[i].Addr != e.peer.addr {
			continue
		}
		buf := e.bufs.Get().(*[]byte)
		if len(*buf) < msgs[i].N {
			b := make([]byte, msgs[i].N)
			buf = &b
		}
		p := pipePacket{buf: buf, n: copy(*buf, msgs[i].Buf[:msgs[i].N]), from: e.addr}
		select {
		case e.peer.in <- p:
		case <-e.peer.done: // the network drops packets to a closed socket
			e.bufs.Put(buf)
		case <-e.done:
			e.bufs.Put(buf)
			return i, net.ErrClosed
		}
	}
	return len(msgs), nil
}

func (e *pipeEnd) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}
