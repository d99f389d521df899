package pptp

import (
	"fmt"
	"time"
)

// keepalive enforces StartTimeout and the echo keep-alive (RFC 2637 §2.5)
// until the connection ends.
func (c *Conn) keepalive() {
	tick := min(c.cfg.EchoInterval, c.cfg.EchoTimeout, c.cfg.StartTimeout) / 4
	t := time.NewTicker(max(tick, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			if err := c.checkTimers(now); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

func (c *Conn) checkTimers(now time.Time) error {
	c.mu.Lock()
	switch c.state {
	case StateIdle, StateWaitCtlReply:
		started := c.started
		c.mu.Unlock()
		if now.Sub(started) > c.cfg.StartTimeout {
			c.ctr.StartTimeouts.Add(1)
			// Every idle connection of a flood ends here: logged at most
			// once a second for all connections sharing the Counters.
			if ok, n := c.ctr.startLog.Allow(now); ok {
				c.log.Warn("no control connection set-up in time, closing", "timeout", c.cfg.StartTimeout,
					"start_timeouts", c.ctr.StartTimeouts.Load(), "suppressed", n)
			}
			return fmt.Errorf("pptp: start-control-connection: no exchange within %v", c.cfg.StartTimeout)
		}
		return nil
	case StateEstablished:
	default:
		c.mu.Unlock()
		return nil
	}
	if c.echoWait {
		sent := c.echoSentAt
		c.mu.Unlock()
		if now.Sub(sent) > c.cfg.EchoTimeout {
			c.ctr.EchoTimeouts.Add(1)
			c.log.Warn("no echo reply, closing", "timeout", c.cfg.EchoTimeout)
			return fmt.Errorf("pptp: echo-request: no reply within %v", c.cfg.EchoTimeout)
		}
		return nil
	}
	if now.Sub(c.lastRx) < c.cfg.EchoInterval {
		c.mu.Unlock()
		return nil
	}
	c.echoID++
	c.echoWait, c.echoSentAt = true, now
	id := c.echoID
	c.mu.Unlock()
	c.send(&EchoRequest{Identifier: id})
	return nil
}
