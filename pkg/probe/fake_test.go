package probe

import (
	"encoding/binary"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// fakeConn is a network in memory: respond says what comes back for each
// request sent (after its delay).
type fakeConn struct {
	respond func(req []byte, dst netip.Addr, ttl int) []fakeMsg
	in      chan fakeMsg
	mu      sync.Mutex
	sent    int
}

type fakeMsg struct {
	data  []byte
	src   netip.Addr
	ttl   int
	delay time.Duration
}

func newFakeConn(respond func(req []byte, dst netip.Addr, ttl int) []fakeMsg) *fakeConn {
	return &fakeConn{respond: respond, in: make(chan fakeMsg, 1000)}
}

func (f *fakeConn) Send(b []byte, dst netip.Addr, ttl int) error {
	f.mu.Lock()
	f.sent++
	f.mu.Unlock()
	for _, m := range f.respond(append([]byte(nil), b...), dst, ttl) {
		if m.delay == 0 {
			f.in <- m
			continue
		}
		time.AfterFunc(m.delay, func() { f.in <- m })
	}
	return nil
}

func (f *fakeConn) Recv(b []byte, deadline time.Time) (int, netip.Addr, int, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case m := <-f.in:
		return copy(b, m.data), m.src, m.ttl, nil
	case <-t.C:
		return 0, netip.Addr{}, -1, os.ErrDeadlineExceeded
	}
}

func (f *fakeConn) Close() error { return nil }

// echoReply is the reply to the echo request req.
func echoReply(req []byte) []byte {
	m, err := icmp.ParseMessage(1, req)
	if err != nil {
		panic(err)
	}
	e := m.Body.(*icmp.Echo)
	b, err := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: &icmp.Echo{ID: e.ID, Seq: e.Seq, Data: e.Data}}).Marshal(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// icmpError is an ICMP error of type typ, code code quoting the request
// req sent from src to dst: its IP header and first 8 octets.
func icmpError(typ ipv4.ICMPType, code int, src, dst netip.Addr, req []byte) []byte {
	q := make([]byte, 20, 28)
	q[0] = 0x45
	binary.BigEndian.PutUint16(q[2:], uint16(20+len(req)))
	q[8], q[9] = 1, 1
	s, d := src.As4(), dst.As4()
	copy(q[12:], s[:])
	copy(q[16:], d[:])
	q = append(q, req[:8]...)
	var body icmp.MessageBody = &icmp.TimeExceeded{Data: q}
	if typ == ipv4.ICMPTypeDestinationUnreachable {
		body = &icmp.DstUnreach{Data: q}
	}
	b, err := (&icmp.Message{Type: typ, Code: code, Body: body}).Marshal(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// reqSeq is an echo request's sequence number.
func reqSeq(req []byte) uint16 { return binary.BigEndian.Uint16(req[6:]) }

func microseconds(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
