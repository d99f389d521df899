package client

import (
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// ackDelay: how long a received packet waits for a data packet to carry its ack.
const ackDelay = 20 * time.Millisecond

// sendFrame sends the PPP frame buf[off:] in GRE, writing the header into
// the headroom the link leaves (a frame without it is copied).
func (c *Client) sendFrame(buf []byte, off int) {
	c.tunMu.Lock()
	defer c.tunMu.Unlock()
	if c.silent.Load() {
		return
	}
	if c.cfg.AbortAt != AbortNone && abortOnSend(c.cfg.AbortAt, buf[off:]) {
		// This frame goes out, then the client falls silent, and vanishes:
		// at once, or mid-auth a moment later, so that the server has
		// passed the response on (to RADIUS, say) when the call goes.
		c.silent.Store(true)
		switch {
		case c.cfg.AbortSilent:
			defer c.goSilent()
		case c.cfg.AbortAt == AbortMidAuth:
			defer time.AfterFunc(midAuthLinger, c.abort)
		default:
			defer c.abort()
		}
	}
	n := len(buf) - off
	if n > len(c.sendBuf)-gre.MaxHeaderLen {
		return
	}
	if off < gre.MaxHeaderLen {
		copy(c.sendBuf[gre.MaxHeaderLen:], buf[off:])
		buf, off = c.sendBuf[:gre.MaxHeaderLen+n], gre.MaxHeaderLen
	}
	pkt, err := gre.Encapsulate(buf, off, c.tunnel.NextHeader(n))
	if err == nil {
		c.write(pkt)
	}
}

// write sends one GRE packet to the server; called with tunMu held, which
// keeps packets in sequence-number order. Within a WriteIPBatchAt the
// packet is queued instead (a copy: a frame of the link's own, from
// another goroutine, lies in a buffer its sender reuses), behind the ones
// queued before it, so nothing overtakes anything.
func (c *Client) write(pkt []byte) {
	if c.batchers > 0 {
		c.sendQ.Add(c.m.conn, pkt, c.cfg.ServerAddr)
		return
	}
	c.sendMsg[0] = gre.Message{Buf: pkt, N: len(pkt), Addr: c.cfg.ServerAddr}
	c.m.conn.WriteBatch(c.sendMsg[:])
	c.sendMsg[0].Buf = nil
}

// flushSend sends what a WriteIPBatchAt queued, in order; tunMu held.
func (c *Client) flushSend() { c.sendQ.Flush(c.m.conn) }

// WriteIPBatchAt sends the IP packets bufs[i][off:off+sizes[i]] for i <
// n, each as WriteIPAt does (encrypted in place, the headers in the
// headroom), and their GRE packets in one system call (sendmmsg) rather
// than one each: what a TUN read of a split super-packet gives. A frame
// of the link's own sent meanwhile (an LCP echo, an ack) joins the batch
// in its place. It returns the first error of a WriteIPAt.
func (c *Client) WriteIPBatchAt(bufs [][]byte, sizes []int, n, off int) error {
	if n == 1 {
		return c.link.WriteIPAt(bufs[0][:off+sizes[0]], off)
	}
	c.tunMu.Lock()
	c.batchers++
	c.tunMu.Unlock()
	var first error
	for i := range n {
		if err := c.link.WriteIPAt(bufs[i][:off+sizes[i]], off); err != nil && first == nil {
			first = err
		}
	}
	c.tunMu.Lock()
	c.batchers--
	if c.batchers == 0 {
		c.flushSend()
	}
	c.tunMu.Unlock()
	return first
}

func (c *Client) received(h gre.Header, payload []byte) {
	c.tunMu.Lock()
	if c.tunnel == nil { // reply not processed yet
		c.tunMu.Unlock()
		return
	}
	deliver := c.tunnel.Receive(h)
	if deliver && len(payload) > 0 && c.ackTimer == nil {
		c.ackTimer = time.AfterFunc(ackDelay, c.sendAck)
	}
	c.tunMu.Unlock()
	if deliver && len(payload) > 0 && !c.silent.Load() {
		if c.cfg.AbortAt != AbortNone && abortOnReceive(c.cfg.AbortAt, payload) {
			c.silent.Store(true)
			if c.cfg.AbortSilent {
				c.goSilent()
			} else {
				c.abort()
			}
			return
		}
		c.link.Input(payload)
	}
}

func (c *Client) sendAck() {
	c.tunMu.Lock()
	defer c.tunMu.Unlock()
	c.ackTimer = nil
	if c.silent.Load() {
		return
	}
	if ack, ok := c.tunnel.AckDue(time.Now()); ok {
		pkt := gre.AppendHeader(c.sendBuf[:0], c.tunnel.AckHeader(ack))
		c.write(pkt)
	}
}
