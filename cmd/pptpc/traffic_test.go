package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
)

// countConn records the batches written to it.
type countConn struct {
	gre.Conn
	batches []int
	sent    []byte // first byte of every packet, in order
	failAt  int
}

func (c *countConn) WriteBatch(msgs []gre.Message) (int, error) {
	c.batches = append(c.batches, len(msgs))
	for i, m := range msgs {
		if c.failAt > 0 && len(c.sent) == c.failAt {
			return i, errors.New("no buffer space")
		}
		c.sent = append(c.sent, m.Buf[0])
	}
	return len(msgs), nil
}

func msg(b byte) gre.Message { return gre.Message{Buf: []byte{b, 0, 0}, N: 3} }

func TestCaptureConn(t *testing.T) {
	under := &countConn{}
	c := &captureConn{Conn: under}
	buf := []byte{1, 2, 3}
	c.WriteBatch([]gre.Message{{Buf: buf, N: 2}})
	c.take(true)
	c.WriteBatch([]gre.Message{{Buf: buf, N: 3}, msg(9)})
	buf[0] = 7 // the caller reuses its buffer: the capture is a copy
	got := c.take(false)
	if len(got) != 2 || got[0].N != 3 || got[0].Buf[0] != 1 || got[1].Buf[0] != 9 {
		t.Fatalf("captured %+v", got)
	}
	c.WriteBatch([]gre.Message{msg(4)})
	if len(under.sent) != 2 || under.sent[0] != 1 || under.sent[1] != 4 {
		t.Errorf("passed through %v, want the writes outside the capture", under.sent)
	}
	if c.take(false) != nil {
		t.Error("capture kept after take")
	}
}

func TestInterleave(t *testing.T) {
	got := interleave([][]gre.Message{{msg(1), msg(2), msg(3)}, {msg(4)}, {msg(5), msg(6)}})
	var order []byte
	for _, m := range got {
		order = append(order, m.Buf[0])
	}
	if string(order) != string([]byte{1, 4, 5, 2, 6, 3}) {
		t.Errorf("order %v", order)
	}
}

func TestSendPacesAndBatches(t *testing.T) {
	msgs := make([]gre.Message, 200)
	for i := range msgs {
		msgs[i] = msg(byte(i))
	}
	c := &countConn{}
	start := time.Now()
	r, err := send(context.Background(), c, msgs, 2000, time.Minute) // 200 packets at 2000/s: 0.1 s
	if err != nil || r.packets != 200 || r.bytes != 600 {
		t.Fatalf("send: %+v %v", r, err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("200 packets at 2000/s took %v", d)
	}
	for _, n := range c.batches {
		if n > sendBatch {
			t.Errorf("batch of %d", n)
		}
	}
	for i, b := range c.sent {
		if b != byte(i) {
			t.Fatalf("packet %d out of order", i)
		}
	}
	c = &countConn{failAt: 70}
	r, err = send(context.Background(), c, msgs, 0, time.Minute)
	if err == nil || r.packets != 70 {
		t.Errorf("failing conn: %+v %v", r, err)
	}
}

func TestUDPPacket(t *testing.T) {
	p := udpPacket(netip.MustParseAddr("10.80.0.10"), netip.MustParseAddrPort("198.18.0.1:9"), 1400)
	if len(p) != 1400 || p[0] != 0x45 || p[9] != 17 || binary.BigEndian.Uint16(p[2:]) != 1400 ||
		binary.BigEndian.Uint16(p[22:]) != 9 || binary.BigEndian.Uint16(p[24:]) != 1380 {
		t.Fatalf("header % x", p[:28])
	}
	// A valid IPv4 header sums to 0xffff (RFC 1071).
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Errorf("checksum: sum %#x", sum)
	}
}

// TestTrafficRefusesBadFlags: bad -traffic flags are refused before any
// login (no mux needed to get there).
func TestTrafficRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		sessions int
		t        trafficOptions
		want     string
	}{
		{0, trafficOptions{dst: "198.18.0.1:9", size: 1400, bytes: 1}, "needs -sessions"},
		{2, trafficOptions{dst: "198.18.0.1", size: 1400, bytes: 1}, "IPv4ADDR:PORT"},
		{2, trafficOptions{dst: "[::1]:9", size: 1400, bytes: 1}, "IPv4ADDR:PORT"},
		{2, trafficOptions{dst: "198.18.0.1:9", size: 20, bytes: 1}, "-traffic-size"},
		{2, trafficOptions{dst: "198.18.0.1:9", size: 1400, bytes: 0}, "-traffic-bytes"},
	} {
		err := traffic(context.Background(), nil, client.Config{}, options{sessions: c.sessions}, &c.t, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c, err, c.want)
		}
	}
}
