package gre

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// recConn records each WriteBatch: its packets, copied; fail makes it
// refuse every call.
type recConn struct {
	calls [][][]byte
	fail  bool
}

func (r *recConn) ReadBatch([]Message) (int, error) { return 0, errors.New("write only") }
func (r *recConn) Close() error                     { return nil }
func (r *recConn) WriteBatch(msgs []Message) (int, error) {
	if r.fail {
		return 0, errNoBuffer
	}
	var call [][]byte
	for _, m := range msgs {
		call = append(call, bytes.Clone(m.Buf[:m.N]))
	}
	r.calls = append(r.calls, call)
	return len(msgs), nil
}

var (
	qPeer       = netip.MustParseAddr("192.0.2.1")
	errNoBuffer = errors.New("no buffer space")
)

// TestQueueOrderAndCopy: Add copies (the sender may reuse its buffer at
// once) and sends nothing; Flush sends all in one call, in order; a packet
// larger than QueueMax goes alone after what was queued.
func TestQueueOrderAndCopy(t *testing.T) {
	rc := &recConn{}
	var q Queue
	q.Add(rc, []byte("data 1"), qPeer)
	reused := []byte("lcp echo")
	q.Add(rc, reused, qPeer)
	copy(reused, "XXXXXXXX")
	q.Add(rc, []byte("data 2"), qPeer)
	if len(rc.calls) != 0 {
		t.Fatalf("%d calls before Flush", len(rc.calls))
	}
	q.Flush(rc)
	q.Flush(rc) // empty: no call
	big := bytes.Repeat([]byte{7}, QueueMax+1)
	q.Add(rc, []byte("data 3"), qPeer)
	q.Add(rc, big, qPeer)
	want := fmt.Sprint([][][]byte{{[]byte("data 1"), []byte("lcp echo"), []byte("data 2")}, {[]byte("data 3")}, {big}})
	if got := fmt.Sprint(rc.calls); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	if q.Unsent != 0 {
		t.Fatalf("Unsent %d", q.Unsent)
	}
}

// TestQueueFull: more than QueueLen packets go out in full calls, in
// order; refused calls count their packets in Unsent.
func TestQueueFull(t *testing.T) {
	rc := &recConn{}
	var q Queue
	for i := range QueueLen + 3 {
		q.Add(rc, []byte{byte(i)}, qPeer)
	}
	q.Flush(rc)
	if len(rc.calls) != 2 || len(rc.calls[0]) != QueueLen || len(rc.calls[1]) != 3 {
		t.Fatalf("%d calls", len(rc.calls))
	}
	for i, p := range append(rc.calls[0], rc.calls[1]...) {
		if p[0] != byte(i) {
			t.Fatalf("packet %d is %d: out of order", i, p[0])
		}
	}
	rc.fail = true
	q.Add(rc, []byte("a"), qPeer)
	q.Add(rc, []byte("b"), qPeer)
	q.Flush(rc)
	q.Add(rc, bytes.Repeat([]byte{1}, QueueMax+1), qPeer)
	if q.Unsent != 3 {
		t.Fatalf("Unsent %d, want 3", q.Unsent)
	}
}

func TestQueueNoAllocs(t *testing.T) {
	rc := &recConn{}
	var q Queue
	pkt := make([]byte, 1400)
	q.Add(rc, pkt, qPeer) // the buffers are made on the first Add
	rc.fail = true        // recConn's recording allocates; a refused call does not
	if a := testing.AllocsPerRun(100, func() {
		q.Add(rc, pkt, qPeer)
		q.Flush(rc)
	}); a != 0 {
		t.Fatalf("%v allocs per Add and Flush", a)
	}
}
