package pptp

// The client (PNS) side of the connection: start, place, clear and describe
// calls (RFC 2637 §2.1, §2.7, §2.12, §2.15). Serve must be running.

import (
	"context"
	"errors"
	"fmt"
)

// Start is the client's half of the control connection set-up: it sends
// Start-Control-Connection-Request and waits for the reply (RFC 2637 §2.1).
// Serve must be running.
func (c *Conn) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.role != RoleClient || c.state != StateIdle {
		st := c.state
		c.mu.Unlock()
		return fmt.Errorf("pptp: start: %s connection in state %s", c.role, st)
	}
	c.state = StateWaitCtlReply
	c.mu.Unlock()
	err := c.send(&StartControlConnectionRequest{
		ProtocolVersion:     ProtocolVersion,
		FramingCapabilities: FramingAsync | FramingSync,
		BearerCapabilities:  BearerAnalog | BearerDigit,
		FirmwareRevision:    c.cfg.FirmwareRevision,
		HostName:            c.cfg.HostName,
		VendorName:          c.cfg.VendorName,
	})
	if err != nil {
		return err
	}
	select {
	case r := <-c.startReply:
		if r.Result != ControlOK {
			return fmt.Errorf("pptp: start-control-connection-reply: %s (error %s)", r.Result, r.Error)
		}
		c.log.Info("control connection established", "host", r.HostName, "vendor", r.VendorName)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pptp: start: %w", ctx.Err())
	case <-c.done:
		return c.endErr("start")
	}
}

// endErr is the error of a method that found the connection ended.
func (c *Conn) endErr(op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr != nil && !errors.Is(c.closeErr, ErrClosed) && !errors.Is(c.closeErr, errStopped) {
		return fmt.Errorf("pptp: %s: %w: %w", op, ErrClosed, c.closeErr)
	}
	return fmt.Errorf("pptp: %s: %w", op, ErrClosed)
}

// OutgoingCall places a call from the client side (RFC 2637 §2.7): callID
// is ours, the GRE key the server will send to us. It returns the server's
// reply, whose CallID is the server's call ID (our GRE key to it) and
// RecvWindow its receive window. A reply other than connected is returned
// with an error.
func (c *Conn) OutgoingCall(ctx context.Context, callID uint16) (*OutgoingCallReply, error) {
	c.mu.Lock()
	if c.role != RoleClient || c.state != StateEstablished {
		st := c.state
		c.mu.Unlock()
		return nil, fmt.Errorf("pptp: outgoing-call-request: %s connection in state %s", c.role, st)
	}
	if _, dup := c.calls[callID]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("pptp: outgoing-call-request: call ID %d in use", callID)
	}
	cl := &call{id: callID, state: CallWaitReply, reply: make(chan *OutgoingCallReply, 1)}
	c.calls[callID] = cl
	c.serial++
	serial := c.serial
	c.mu.Unlock()
	err := c.send(&OutgoingCallRequest{
		CallID:           callID,
		CallSerialNumber: serial,
		MinBPS:           300,
		MaxBPS:           c.cfg.ConnectSpeed,
		BearerType:       BearerTypeEither,
		FramingType:      FramingTypeEither,
		RecvWindow:       c.cfg.RecvWindow,
		ProcessingDelay:  c.cfg.ProcessingDelay,
	})
	if err != nil {
		return nil, err
	}
	select {
	case r := <-cl.reply:
		if r.Result != OutgoingConnected {
			return r, fmt.Errorf("pptp: outgoing-call-reply: %s (error %s, cause %d)", r.Result, r.Error, r.Cause)
		}
		c.log.Info("outgoing call connected", "call", callID, "peer_call", r.CallID, "peer_window", r.RecvWindow)
		return r, nil
	case <-ctx.Done():
		c.forget(callID)
		return nil, fmt.Errorf("pptp: outgoing-call-request: %w", ctx.Err())
	case <-c.done:
		return nil, c.endErr("outgoing-call-request")
	}
}

// forget drops our call callID without telling the peer.
func (c *Conn) forget(callID uint16) {
	c.mu.Lock()
	delete(c.calls, callID)
	c.mu.Unlock()
}

// ClearCall ends our call callID from the client side: Call-Clear-Request,
// then it waits for the server's Call-Disconnect-Notify (RFC 2637 §2.12).
func (c *Conn) ClearCall(ctx context.Context, callID uint16) error {
	c.mu.Lock()
	cl, ok := c.calls[callID]
	if c.role != RoleClient || !ok || cl.state != CallEstablished {
		c.mu.Unlock()
		return fmt.Errorf("pptp: call-clear-request: no established call %d on this %s", callID, c.role)
	}
	cl.state = CallWaitDisconnect
	cl.cleared = make(chan struct{})
	c.mu.Unlock()
	if err := c.send(&CallClearRequest{CallID: callID}); err != nil {
		return err
	}
	select {
	case <-cl.cleared:
		c.ctr.CallsCleared.Add(1)
		return nil
	case <-ctx.Done():
		c.forget(callID)
		return fmt.Errorf("pptp: call-clear-request: %w", ctx.Err())
	case <-c.done:
		return c.endErr("call-clear-request")
	}
}

// SetLinkInfo sends the PPP ACCMs of our call callID to the server, as a
// client does after LCP (RFC 2637 §2.15); the message names the call by the
// server's call ID.
func (c *Conn) SetLinkInfo(callID uint16, sendACCM, recvACCM uint32) error {
	c.mu.Lock()
	cl, ok := c.calls[callID]
	if c.role != RoleClient || !ok || cl.state != CallEstablished {
		c.mu.Unlock()
		return fmt.Errorf("pptp: set-link-info: no established call %d on this %s", callID, c.role)
	}
	peer := cl.peerID
	c.mu.Unlock()
	return c.send(&SetLinkInfo{PeerCallID: peer, SendACCM: sendACCM, RecvACCM: recvACCM})
}
