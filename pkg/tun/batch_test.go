package tun_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/tun"
)

// recDevice records each Write: the packets it got, copied, and the
// headroom in front of each.
type recDevice struct {
	writes [][][]byte
	room   []int
	fail   error
}

func (d *recDevice) Read([][]byte, []int, int) (int, error) { return 0, tun.ErrClosed }
func (d *recDevice) Write(bufs [][]byte, off int) (int, error) {
	if d.fail != nil {
		return 0, d.fail
	}
	var w [][]byte
	for _, b := range bufs {
		w = append(w, bytes.Clone(b[off:]))
	}
	d.writes = append(d.writes, w)
	d.room = append(d.room, off)
	return len(bufs), nil
}
func (d *recDevice) BatchSize() int { return 1 }
func (d *recDevice) Name() string   { return "rec" }
func (d *recDevice) Close() error   { return nil }

func TestWriteQueueOneWritePerFlush(t *testing.T) {
	d := &recDevice{}
	q := tun.NewWriteQueue(d, 4, 100)
	src := []byte("first packet")
	q.Add(src)
	q.Add([]byte("second"))
	src[0] = 'X' // the queue holds a copy: the receive buffer is reused
	if len(d.writes) != 0 {
		t.Fatalf("written before Flush: %q", d.writes)
	}
	q.Flush()
	q.Flush() // nothing queued: no write
	if len(d.writes) != 1 || len(d.writes[0]) != 2 {
		t.Fatalf("writes %q, want one write of 2 packets", d.writes)
	}
	if string(d.writes[0][0]) != "first packet" || string(d.writes[0][1]) != "second" {
		t.Fatalf("packets %q", d.writes[0])
	}
	if d.room[0] < tun.Headroom {
		t.Fatalf("headroom %d: a device with offloads needs %d", d.room[0], tun.Headroom)
	}
}

func TestWriteQueueFullAndOversized(t *testing.T) {
	d := &recDevice{}
	q := tun.NewWriteQueue(d, 2, 8)
	for _, p := range []string{"a", "b", "c", "much too long for a slot", "d"} {
		q.Add([]byte(p))
	}
	q.Flush()
	// "c" flushed a full queue first; the long one flushed "c" and went
	// alone; order kept throughout.
	var got []string
	for _, w := range d.writes {
		var s []string
		for _, p := range w {
			s = append(s, string(p))
		}
		got = append(got, s...)
		if len(w) > 2 {
			t.Fatalf("a write of %d packets from 2 slots", len(w))
		}
	}
	want := []string{"a", "b", "c", "much too long for a slot", "d"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if len(d.writes) != 4 {
		t.Fatalf("%d writes (%q), want 4: [a b] [c] [long] [d]", len(d.writes), d.writes)
	}
}

func TestWriteQueueCountsRefused(t *testing.T) {
	d := &recDevice{fail: errors.New("no buffer space")}
	q := tun.NewWriteQueue(d, 4, 100)
	q.Add([]byte("one"))
	q.Add([]byte("two"))
	q.Flush()
	if got := q.Dropped(); got != 2 {
		t.Fatalf("Dropped %d, want 2", got)
	}
}

func TestReadBuffers(t *testing.T) {
	bufs, sizes := tun.ReadBuffers(&recDevice{}, 24, 1500)
	if len(bufs) != 1 || len(sizes) != 1 || len(bufs[0]) != 24+65535 {
		t.Fatalf("one-packet device: %d buffers of %d", len(bufs), len(bufs[0]))
	}
}
