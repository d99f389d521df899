package pptp

import (
	"context"
	"errors"
	"fmt"
)

// dispatch handles one received message: one handler per message type,
// named after it. A non-nil error ends the connection.
func (c *Conn) dispatch(m Message) error {
	st := c.State()
	// Before the control connection is up only the start exchange (and a
	// stop) is valid; anything else is not a PPTP peer we can talk to.
	if st == StateIdle || st == StateWaitCtlReply {
		switch m.(type) {
		case *StartControlConnectionRequest, *StartControlConnectionReply, *StopControlConnectionRequest:
		default:
			c.ctr.Unexpected.Add(1)
			return fmt.Errorf("pptp: %s before the control connection is established", lowerName(m.Type()))
		}
	}
	switch m := m.(type) {
	case *StartControlConnectionRequest:
		return c.handleStartControlConnectionRequest(m)
	case *StartControlConnectionReply:
		return c.handleStartControlConnectionReply(m)
	case *StopControlConnectionRequest:
		return c.handleStopControlConnectionRequest(m)
	case *StopControlConnectionReply:
		return c.handleStopControlConnectionReply(m)
	case *EchoRequest:
		return c.send(&EchoReply{Identifier: m.Identifier, Result: ResultOK})
	case *EchoReply:
		return c.handleEchoReply(m)
	case *OutgoingCallRequest:
		return c.handleOutgoingCallRequest(m)
	case *OutgoingCallReply:
		return c.handleOutgoingCallReply(m)
	case *IncomingCallRequest:
		// We place no incoming calls and take none (RFC 2637 §2.10 code 3).
		c.ctr.Unexpected.Add(1)
		return c.send(&IncomingCallReply{PeerCallID: m.CallID, Result: IncomingDoNotAccept})
	case *CallClearRequest:
		return c.handleCallClearRequest(m)
	case *CallDisconnectNotify:
		return c.handleCallDisconnectNotify(m)
	case *WANErrorNotify:
		c.ctr.WANErrors.Add(1)
		c.log.Warn("wan-error-notify", "peer_call", m.PeerCallID, "crc", m.CRCErrors, "framing", m.FramingErrors,
			"hw_overruns", m.HardwareOverruns, "buf_overruns", m.BufferOverruns, "timeouts", m.TimeoutErrors, "alignment", m.AlignmentErrors)
		return nil
	case *SetLinkInfo:
		return c.handleSetLinkInfo(m)
	}
	// Incoming-Call-Reply/Connected answer an Incoming-Call-Request we
	// never send.
	c.ctr.Unexpected.Add(1)
	c.log.Debug("ignored unexpected message", "msg", m.Type().String())
	return nil
}

// unexpected counts a valid message that does not fit the role or state
// and ignores it.
func (c *Conn) unexpected(m Message) error {
	c.ctr.Unexpected.Add(1)
	c.log.Debug("ignored unexpected message", "msg", m.Type().String(), "state", c.State().String())
	return nil
}

// handleStartControlConnectionRequest: server side of RFC 2637 §2.1/§2.2.
func (c *Conn) handleStartControlConnectionRequest(m *StartControlConnectionRequest) error {
	if c.role != RoleServer || c.State() != StateIdle {
		return c.unexpected(m)
	}
	reply := c.startReplyTemplate()
	if m.ProtocolVersion != ProtocolVersion {
		// Result 5 tells the peer the highest version we support, which
		// the reply's Protocol Version field carries (RFC 2637 §2.2).
		reply.Result = ControlVersionMismatch
		c.send(reply)
		return fmt.Errorf("pptp: start-control-connection-request: protocol version 0x%04x not supported", m.ProtocolVersion)
	}
	reply.Result = ControlOK
	c.mu.Lock()
	c.state = StateEstablished
	c.mu.Unlock()
	c.log.Info("control connection established", "host", m.HostName, "vendor", m.VendorName,
		"framing", m.FramingCapabilities, "bearer", m.BearerCapabilities, "firmware", m.FirmwareRevision)
	return c.send(reply)
}

func (c *Conn) startReplyTemplate() *StartControlConnectionReply {
	return &StartControlConnectionReply{
		ProtocolVersion:     ProtocolVersion,
		FramingCapabilities: FramingAsync | FramingSync,
		BearerCapabilities:  BearerAnalog | BearerDigit,
		MaxChannels:         c.cfg.MaxChannels,
		FirmwareRevision:    c.cfg.FirmwareRevision,
		HostName:            c.cfg.HostName,
		VendorName:          c.cfg.VendorName,
	}
}

// handleStartControlConnectionReply: client side, completes Start.
func (c *Conn) handleStartControlConnectionReply(m *StartControlConnectionReply) error {
	c.mu.Lock()
	if c.role != RoleClient || c.state != StateWaitCtlReply {
		c.mu.Unlock()
		return c.unexpected(m)
	}
	if m.Result == ControlOK {
		c.state = StateEstablished
	}
	c.mu.Unlock()
	c.startReply <- m // buffered, sent once: Start waits for it
	if m.Result != ControlOK {
		return fmt.Errorf("pptp: start-control-connection-reply: %s (error %s)", m.Result, m.Error)
	}
	return nil
}

// handleStopControlConnectionRequest tears down every call, replies and
// ends the connection (RFC 2637 §2.3/§2.4).
func (c *Conn) handleStopControlConnectionRequest(m *StopControlConnectionRequest) error {
	c.log.Info("peer stops the control connection", "reason", m.Reason.String())
	c.send(&StopControlConnectionReply{Result: ResultOK})
	return errStopped // Serve's shutdown clears the calls
}

func (c *Conn) handleStopControlConnectionReply(m *StopControlConnectionReply) error {
	c.mu.Lock()
	waiting := c.state == StateWaitStopReply
	c.mu.Unlock()
	if !waiting {
		return c.unexpected(m)
	}
	close(c.stopReply)
	return errStopped
}

func (c *Conn) handleEchoReply(m *EchoReply) error {
	c.mu.Lock()
	ours := m.Identifier == c.echoID
	c.mu.Unlock()
	if !ours {
		return c.unexpected(m)
	}
	return nil
}

// handleOutgoingCallRequest: server side of RFC 2637 §2.7/§2.8. The
// Handler assigns our call ID; the reply carries it with our receive window.
func (c *Conn) handleOutgoingCallRequest(m *OutgoingCallRequest) error {
	if c.role != RoleServer {
		c.ctr.Unexpected.Add(1)
		return c.send(&OutgoingCallReply{PeerCallID: m.CallID, Result: OutgoingDoNotAccept})
	}
	refuse := func(code ErrorCode, why error) error {
		c.ctr.CallsRefused.Add(1)
		c.log.Warn("outgoing call refused", "peer_call", m.CallID, "err", why)
		return c.send(&OutgoingCallReply{PeerCallID: m.CallID, Result: OutgoingGeneralError, Error: code})
	}
	if st := c.State(); st != StateEstablished {
		// A call placed while we stop the connection would die at once.
		return refuse(ErrorNotConnected, fmt.Errorf("control connection is %s", st))
	}
	if c.peerCallInUse(m.CallID) {
		c.ctr.BadCallID.Add(1)
		return refuse(ErrorBadCallID, fmt.Errorf("peer call ID %d already in use on this connection", m.CallID))
	}
	if c.h == nil {
		return refuse(ErrorPACError, errors.New("no call handler"))
	}
	c.inHandler.Store(true)
	id, err := c.h.OutgoingCall(c, m.CallID, m)
	c.inHandler.Store(false)
	if err != nil {
		code := ErrorPACError
		if errors.Is(err, ErrNoResource) {
			code = ErrorNoResource
		}
		return refuse(code, err)
	}
	// Hold the write lock from registering the call to sending the reply so
	// a DisconnectCall racing with us cannot put its CDN before the OCRP.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if _, dup := c.calls[id]; dup {
		c.mu.Unlock()
		c.ctr.CallsRefused.Add(1)
		c.log.Error("handler returned a call ID in use", "call", id)
		return c.sendLocked(&OutgoingCallReply{PeerCallID: m.CallID, Result: OutgoingGeneralError, Error: ErrorPACError})
	}
	c.calls[id] = &call{id: id, peerID: m.CallID, state: CallEstablished}
	c.mu.Unlock()
	c.ctr.CallsOpened.Add(1)
	c.log.Info("outgoing call connected", "call", id, "peer_call", m.CallID, "serial", m.CallSerialNumber,
		"peer_window", m.RecvWindow, "phone", m.PhoneNumber)
	return c.sendLocked(&OutgoingCallReply{
		CallID:          id,
		PeerCallID:      m.CallID,
		Result:          OutgoingConnected,
		ConnectSpeed:    c.cfg.ConnectSpeed,
		RecvWindow:      c.cfg.RecvWindow,
		ProcessingDelay: c.cfg.ProcessingDelay,
	})
}

// peerCallInUse reports whether a call of ours has peer call ID peerID.
func (c *Conn) peerCallInUse(peerID uint16) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byPeerLocked(peerID) != nil
}

func (c *Conn) byPeerLocked(peerID uint16) *call {
	for _, cl := range c.calls {
		if cl.peerID == peerID && cl.state != CallWaitReply {
			return cl
		}
	}
	return nil
}

// handleOutgoingCallReply: client side, completes OutgoingCall.
func (c *Conn) handleOutgoingCallReply(m *OutgoingCallReply) error {
	c.mu.Lock()
	cl, ok := c.calls[m.PeerCallID]
	if c.role != RoleClient || !ok || cl.state != CallWaitReply {
		c.mu.Unlock()
		c.ctr.BadCallID.Add(1)
		return c.unexpected(m)
	}
	if m.Result == OutgoingConnected {
		cl.state, cl.peerID = CallEstablished, m.CallID
		c.ctr.CallsOpened.Add(1)
	} else {
		delete(c.calls, cl.id)
		c.ctr.CallsRefused.Add(1)
	}
	c.mu.Unlock()
	cl.reply <- m // buffered, sent once
	return nil
}

// handleCallClearRequest: server side of RFC 2637 §2.12/§2.13. The call is
// named by the peer's call ID; the CDN names it by ours.
func (c *Conn) handleCallClearRequest(m *CallClearRequest) error {
	if c.role != RoleServer {
		return c.unexpected(m)
	}
	c.mu.Lock()
	cl := c.byPeerLocked(m.CallID)
	if cl != nil {
		delete(c.calls, cl.id)
	}
	c.mu.Unlock()
	if cl == nil {
		c.ctr.BadCallID.Add(1)
		c.log.Debug("call-clear-request for unknown call", "peer_call", m.CallID)
		return nil
	}
	c.log.Info("call cleared by peer", "call", cl.id, "peer_call", cl.peerID)
	c.callCleared(cl.id)
	return c.sendCDN(cl.id, DisconnectRequest, 0)
}

// handleCallDisconnectNotify: client side; the PAC names the call by its
// own call ID, our peer ID.
func (c *Conn) handleCallDisconnectNotify(m *CallDisconnectNotify) error {
	if c.role != RoleClient {
		return c.unexpected(m)
	}
	c.mu.Lock()
	cl := c.byPeerLocked(m.CallID)
	if cl != nil {
		delete(c.calls, cl.id)
	}
	c.mu.Unlock()
	switch {
	case cl == nil:
		c.ctr.BadCallID.Add(1)
		return c.unexpected(m)
	case cl.state == CallWaitDisconnect:
		close(cl.cleared)
	default:
		c.log.Info("call disconnected by peer", "call", cl.id, "result", m.Result.String(), "cause", m.Cause,
			"stats", m.CallStatistics)
		c.callCleared(cl.id)
	}
	return nil
}

// handleSetLinkInfo: server side; PeerCallID is our call ID.
func (c *Conn) handleSetLinkInfo(m *SetLinkInfo) error {
	if c.role != RoleServer {
		return c.unexpected(m)
	}
	c.mu.Lock()
	_, ok := c.calls[m.PeerCallID]
	c.mu.Unlock()
	if !ok {
		c.ctr.BadCallID.Add(1)
		return c.unexpected(m)
	}
	if c.h != nil {
		c.inHandler.Store(true)
		c.h.SetLinkInfo(c, m.PeerCallID, m.SendACCM, m.RecvACCM)
		c.inHandler.Store(false)
	}
	return nil
}

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
