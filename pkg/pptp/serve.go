package pptp

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Serve runs the connection (call it once) until it ends: the peer stops it or closes
// TCP, a protocol error or timeout, Close, or ctx is done. On return every
// call has been cleared (Handler.CallCleared called). It returns nil after
// an orderly stop and the reason otherwise.
func (c *Conn) Serve(ctx context.Context) error {
	c.serving.Store(true)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.startKeepalive()

	var err error
	for {
		// An idle connection waits here, on c.hdr alone: what the wait
		// keeps on the goroutine's stack is small, so the GC shrinks it
		// to the least after a login's deep calls (message handling is
		// in received, not inlined here).
		if _, err = io.ReadFull(c.nc, c.hdr[:]); err != nil {
			break
		}
		if err = c.received(); err != nil {
			break
		}
	}
	return c.shutdown(err)
}

// msgBufs are the buffers messages are read into (MaxMessageLen bytes),
// shared by every connection: one is in use only while a message arrives.
var msgBufs = sync.Pool{New: func() any { return new([MaxMessageLen]byte) }}

// received reads the rest of the message whose header is in c.hdr (into a
// buffer borrowed from msgBufs) and handles it. A non-nil error ends the
// connection.
//
//go:noinline
func (c *Conn) received() error {
	buf := msgBufs.Get().(*[MaxMessageLen]byte)
	copy(buf[:], c.hdr[:])
	m, err := readBody(c.nc, buf[:])
	msgBufs.Put(buf)
	if err != nil {
		if errors.Is(err, ErrUnknownMessage) {
			// RFC 2637 leaves management messages undefined; skipping
			// unknown types keeps us working with extended peers.
			c.ctr.Unknown.Add(1)
			c.log.Debug("skipped unknown message", "err", err)
			return nil
		}
		c.countReadError(err)
		return err
	}
	c.ctr.MessagesIn.Add(1)
	c.log.Debug("rcvd", "msg", m.Type().String(), "body", m)
	c.trace("rcvd", m)
	c.mu.Lock()
	c.lastRx = time.Now()
	c.echoWait = false // any message proves the peer alive
	c.mu.Unlock()
	return c.dispatch(m)
}

func (c *Conn) countReadError(err error) {
	switch {
	case errors.Is(err, ErrBadMagic):
		c.ctr.BadMagic.Add(1)
	case errors.Is(err, ErrBadLength):
		c.ctr.BadLength.Add(1)
	case errors.Is(err, ErrMalformed):
		c.ctr.Malformed.Add(1)
	default:
		return
	}
	c.log.Warn("protocol error, closing", "err", err)
}

// shutdown ends the connection after Serve's loop: it closes TCP, clears
// every call and wakes every waiter.
func (c *Conn) shutdown(readErr error) error {
	c.nc.Close()
	c.mu.Lock()
	reason := c.closeErr
	if reason == nil {
		reason = readErr
		c.closeErr = readErr
	}
	// A peer that hangs up instead of answering our Stop-Control-
	// Connection-Request (pptp-linux may, once its last call is gone,
	// even before that request is written) still ends the connection the
	// way we asked.
	stopping := c.state == StateWaitStopReply && transportEnded(reason)
	orderly := errors.Is(reason, errStopped) || errors.Is(reason, ErrClosed) || stopping
	c.state = StateClosed
	calls := c.calls
	c.calls = make(map[uint16]*call)
	c.mu.Unlock()

	for _, cl := range calls {
		if cl.state == CallEstablished {
			c.callCleared(cl.id)
		}
	}
	close(c.done)
	c.stopKeepalive()
	if orderly {
		c.log.Info("control connection closed")
		c.traceNote("control connection closed", nil)
		return nil
	}
	c.log.Info("control connection lost", "err", reason)
	c.traceNote("control connection lost", reason)
	return reason
}

// transportEnded says whether err is the TCP connection going away under
// a read or write (the peer closed or reset it, or our side closed it on
// seeing that), as opposed to a protocol error or a timeout.
func transportEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *Conn) callCleared(id uint16) {
	c.ctr.CallsCleared.Add(1)
	if c.h != nil {
		c.inHandler.Store(true)
		defer c.inHandler.Store(false)
		c.h.CallCleared(c, id)
	}
}
