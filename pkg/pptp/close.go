package pptp

import (
	"fmt"
	"time"
)

// Close ends the connection the orderly way (RFC 2637 §3.1): a server first
// sends Call-Disconnect-Notify for each call, then Stop-Control-Connection-
// Request; Close waits up to StopTimeout for the reply, closes TCP and, when
// Serve runs, waits for it to clear the calls. Concurrent and repeated calls
// wait for the first. Called while a Handler method runs (from it, say),
// Close only starts the stop and returns: Serve cannot read the reply or
// finish while the Handler holds it.
func (c *Conn) Close() error {
	if c.inHandler.Load() {
		go c.closeOnce.Do(c.stop)
		return nil
	}
	c.closeOnce.Do(c.stop)
	if c.serving.Load() {
		<-c.done
	}
	return nil
}

// stop is the body of the first Close.
func (c *Conn) stop() {
	c.mu.Lock()
	st := c.state
	var ids []uint16
	if st == StateEstablished {
		c.state = StateWaitStopReply
		if c.role == RoleServer {
			for id := range c.calls {
				ids = append(ids, id)
			}
		}
	}
	c.mu.Unlock()
	if st == StateEstablished {
		for _, id := range ids {
			// The calls die with the connection; the Handler hears of them
			// through CallCleared when Serve ends.
			c.sendCDN(id, DisconnectAdminDown, 0)
		}
		if c.send(&StopControlConnectionRequest{Reason: StopNone}) == nil {
			select {
			case <-c.stopReply:
			case <-c.done:
			case <-time.After(c.cfg.StopTimeout):
				c.log.Warn("no stop-control-connection-reply", "timeout", c.cfg.StopTimeout)
			}
		}
	}
	c.fail(ErrClosed)
}

// sendCDN sends Call-Disconnect-Notify for our call id.
func (c *Conn) sendCDN(id uint16, result DisconnectResult, cause uint16) error {
	return c.send(&CallDisconnectNotify{CallID: id, Result: result, Cause: cause})
}

// DisconnectCall ends our call callID from the server side: it forgets the
// call and sends Call-Disconnect-Notify (RFC 2637 §2.13). The Handler is
// not told (the caller knows).
func (c *Conn) DisconnectCall(callID uint16, result DisconnectResult, cause uint16) error {
	if c.role != RoleServer {
		return fmt.Errorf("pptp: call-disconnect-notify: only the server sends it; use ClearCall")
	}
	c.mu.Lock()
	if c.state == StateClosed {
		c.mu.Unlock()
		return ErrClosed
	}
	_, ok := c.calls[callID]
	delete(c.calls, callID)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("pptp: call-disconnect-notify: no call %d", callID)
	}
	c.ctr.CallsCleared.Add(1)
	// Debug: the caller logs why (pkg/session's "session down").
	c.log.Debug("call disconnected", "call", callID, "result", result.String(), "cause", cause)
	return c.sendCDN(callID, result, cause)
}
