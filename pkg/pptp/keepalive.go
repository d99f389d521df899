package pptp

import (
	"fmt"
	"time"
)

// startKeepalive enforces StartTimeout and the echo keep-alive (RFC 2637
// §2.5) until the connection ends: a timer set for the next deadline, not
// a goroutine, so an idle connection costs no stack and no wake-ups
// between deadlines.
func (c *Conn) startKeepalive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.untilCheckLocked(time.Now()); ok {
		c.keepTimer = time.AfterFunc(d, c.keepalive)
	}
}

// keepalive is the timer's function: it checks the deadlines and sets the
// timer for the next one.
func (c *Conn) keepalive() {
	select {
	case <-c.done:
		return
	default:
	}
	now := time.Now()
	if err := c.checkTimers(now); err != nil {
		c.fail(err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.untilCheckLocked(now); ok {
		c.keepTimer.Reset(d)
	}
}

// establishLocked enters StateEstablished, whose echo deadline may come
// before the start deadline the timer waits for. Called with c.mu held.
func (c *Conn) establishLocked() {
	c.state = StateEstablished
	if c.keepTimer == nil {
		return
	}
	if d, ok := c.untilCheckLocked(time.Now()); ok {
		c.keepTimer.Reset(d)
	}
}

// stopKeepalive stops the timer once the connection has ended.
func (c *Conn) stopKeepalive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keepTimer != nil {
		c.keepTimer.Stop()
	}
}

// untilCheckLocked is how long from now until checkTimers has a deadline to
// look at, and false when the state has none (a stop under way, or the
// connection closed: Close has its own StopTimeout). A millisecond past the
// deadline, so that the check finds it passed. Called with c.mu held.
func (c *Conn) untilCheckLocked(now time.Time) (time.Duration, bool) {
	var at time.Time
	switch {
	case c.state == StateIdle || c.state == StateWaitCtlReply:
		at = c.started.Add(c.cfg.StartTimeout)
	case c.state != StateEstablished:
		return 0, false
	case c.echoWait:
		at = c.echoSentAt.Add(c.cfg.EchoTimeout)
	default:
		at = c.lastRx.Add(c.cfg.EchoInterval)
	}
	return max(at.Sub(now), 0) + time.Millisecond, true
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
