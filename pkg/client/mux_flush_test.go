package client

import "testing"

// TestFlushOncePerBatch: a client whose OnIP got packets in a receive
// batch is flushed once after it, however many packets it got; one that got
// none, or has no Flush, is not.
func TestFlushOncePerBatch(t *testing.T) {
	m := &Mux{}
	var flushed [2]int
	a := &Client{m: m, cfg: Config{Flush: func() { flushed[0]++ }}}
	b := &Client{m: m, cfg: Config{Flush: func() { flushed[1]++ }}}
	none := &Client{m: m}
	for range 5 {
		m.touched(a)
		m.touched(none)
	}
	m.flushBatch()
	if flushed != [2]int{1, 0} {
		t.Fatalf("after batch 1: flushes %v, want [1 0]", flushed)
	}
	m.flushBatch() // an empty batch
	m.touched(b)
	m.touched(a)
	m.flushBatch()
	if flushed != [2]int{2, 1} {
		t.Fatalf("after batch 3: flushes %v, want [2 1]", flushed)
	}
	if len(m.flush) != 0 || a.inBatch || b.inBatch {
		t.Fatal("batch state not reset")
	}
}
