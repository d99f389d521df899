// Package gretest is an in-memory gre.Conn for tests: two connected pipe
// ends that move GRE packets without raw sockets or root, so a server and
// its clients run end to end in one process (wireguard-go's conn/bindtest
// shape). Production code does not import it.
package gretest

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// queueLen is how many packets a pipe end buffers before writers block.
const queueLen = 1024

// bufSize is the size of the pipe's pooled packet buffers; a bigger packet
// gets a buffer of its own.
const bufSize = 2048

type packet struct {
	buf  *[]byte // from the pipe's pool; the packet is (*buf)[:n]
	n    int
	from netip.Addr
}

// end is one side of NewPipe.
type end struct {
	addr netip.Addr
	in   chan packet   // packets addressed to this end
	done chan struct{} // closed by Close
	once sync.Once
	peer *end
	// bufs is shared by both ends: a writer takes a buffer for each packet
	// in flight, the reader puts it back once copied out, so a pipe moves
	// packets without allocating (wireguard-go's pools).
	bufs *sync.Pool
}

var _ gre.Conn = (*end)(nil)

// NewPipe returns two connected in-memory Conns with addresses a and b.
// A packet written to the other end's address is delivered there with the
// writer's address as Addr; a packet to any other address is dropped, as the
// network would. Writers block while the reader's queue is full, so tests see
// no loss they did not make themselves. A read buffer shorter than the packet
// truncates it, as a raw socket does.
func NewPipe(a, b netip.Addr) (gre.Conn, gre.Conn) {
	bufs := &sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}
	ea := &end{addr: a, in: make(chan packet, queueLen), done: make(chan struct{}), bufs: bufs}
	eb := &end{addr: b, in: make(chan packet, queueLen), done: make(chan struct{}), bufs: bufs}
	ea.peer, eb.peer = eb, ea
	return ea, eb
}

func (e *end) ReadBatch(msgs []gre.Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	var p packet
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

func (e *end) WriteBatch(msgs []gre.Message) (int, error) {
	for i := range msgs {
		select {
		case <-e.done:
			return i, net.ErrClosed
		default:
		}
		m := &msgs[i]
		// As the raw socket does (gre.ListenIPv4): N past the buffer is
		// refused, not read past.
		if m.N < 0 || m.N > len(m.Buf) {
			return i, fmt.Errorf("gretest: write: N %d outside buffer of %d bytes", m.N, len(m.Buf))
		}
		if m.Addr != e.peer.addr {
			continue
		}
		buf := e.bufs.Get().(*[]byte)
		if len(*buf) < m.N {
			b := make([]byte, m.N)
			buf = &b
		}
		p := packet{buf: buf, n: copy(*buf, m.Buf[:m.N]), from: e.addr}
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

func (e *end) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}
