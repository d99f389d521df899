package pptp

import (
	"fmt"
	"time"
)

// send writes one message; a write error closes the connection.
func (c *Conn) send(m Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.sendLocked(m)
}

func (c *Conn) sendLocked(m Message) error {
	buf := msgBufs.Get().(*[MaxMessageLen]byte)
	defer msgBufs.Put(buf)
	b := m.Append(buf[:0])
	c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if _, err := c.nc.Write(b); err != nil {
		err = fmt.Errorf("pptp: sending %s: %w", lowerName(m.Type()), err)
		c.fail(err)
		return err
	}
	c.ctr.MessagesOut.Add(1)
	c.log.Debug("sent", "msg", m.Type().String(), "body", m)
	c.trace("sent", m)
	return nil
}

// fail records why the connection ends and closes the transport, which
// ends Serve's read.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = err
	}
	c.mu.Unlock()
	c.nc.Close()
}
