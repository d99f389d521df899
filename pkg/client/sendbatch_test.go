package client

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// recConn records the WriteBatch calls: each call's packets, copied.
type recConn struct{ calls [][][]byte }

func (r *recConn) ReadBatch([]gre.Message) (int, error) { select {} }
func (r *recConn) Close() error                         { return nil }
func (r *recConn) WriteBatch(msgs []gre.Message) (int, error) {
	var call [][]byte
	for _, m := range msgs {
		call = append(call, bytes.Clone(m.Buf[:m.N]))
	}
	r.calls = append(r.calls, call)
	return len(msgs), nil
}

// TestSendBatchOrderAndCopy: while a batch is under way, write queues
// copies in order (a frame from another goroutine included, whose buffer
// is reused at once) and sends nothing; the end sends them in one call;
// outside a batch each packet goes at once.
func TestSendBatchOrderAndCopy(t *testing.T) {
	rc := &recConn{}
	c := &Client{m: &Mux{conn: rc}, cfg: Config{ServerAddr: netip.MustParseAddr("192.0.2.1")}}
	c.write([]byte("alone"))
	c.batchers++
	c.write([]byte("data 1"))
	foreign := []byte("lcp echo")
	c.write(foreign)
	copy(foreign, "XXXXXXXX") // the sender reuses its buffer
	c.write([]byte("data 2"))
	if len(rc.calls) != 1 {
		t.Fatalf("%d calls during the batch, want only the one before it", len(rc.calls))
	}
	c.batchers--
	c.flushSend()
	c.flushSend() // nothing left: no call
	want := fmt.Sprint([][][]byte{{[]byte("alone")}, {[]byte("data 1"), []byte("lcp echo"), []byte("data 2")}})
	if got := fmt.Sprint(rc.calls); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
}

// TestSendBatchFull: a batch longer than one sendmmsg goes out in full
// calls, in order.
func TestSendBatchFull(t *testing.T) {
	rc := &recConn{}
	c := &Client{m: &Mux{conn: rc}, cfg: Config{ServerAddr: netip.MustParseAddr("192.0.2.1")}}
	c.batchers++
	for i := range gre.QueueLen + 3 {
		c.write([]byte{byte(i)})
	}
	c.batchers--
	c.flushSend()
	if len(rc.calls) != 2 || len(rc.calls[0]) != gre.QueueLen || len(rc.calls[1]) != 3 {
		t.Fatalf("calls of %d packets", len(rc.calls))
	}
	for i, p := range append(rc.calls[0], rc.calls[1]...) {
		if p[0] != byte(i) {
			t.Fatalf("packet %d is %d: out of order", i, p[0])
		}
	}
}
