package gre

import (
	"fmt"
	"net/netip"
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
