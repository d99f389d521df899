package pptp

import (
	"errors"
	"fmt"
	"time"
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
	c.establishLocked()
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
		c.establishLocked()
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
		c.logRefusal("peer_call", m.CallID, "err", why)
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
	if n := c.callCount(); c.cfg.MaxCalls > 0 && n >= c.cfg.MaxCalls {
		// Result 7, "administratively prohibited" (RFC 2637 §2.8): the
		// cap is policy, and retrying on this connection will not help.
		c.ctr.CallsRefused.Add(1)
		c.ctr.CallsOverLimit.Add(1)
		c.logRefusal("peer_call", m.CallID, "reason", "per-connection-cap", "calls", n, "max_calls_per_connection", c.cfg.MaxCalls)
		return c.send(&OutgoingCallReply{PeerCallID: m.CallID, Result: OutgoingDoNotAccept})
	}
	if c.h == nil {
		return refuse(ErrorPACError, errors.New("no call handler"))
	}
	c.inHandler.Store(true)
	id, err := c.h.OutgoingCall(c, m.CallID, m)
	c.inHandler.Store(false)
	if err != nil {
		if errors.Is(err, ErrDoNotAccept) {
			c.ctr.CallsRefused.Add(1)
			c.logRefusal("peer_call", m.CallID, "err", err)
			return c.send(&OutgoingCallReply{PeerCallID: m.CallID, Result: OutgoingDoNotAccept})
		}
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
	// Debug: the server's caller logs the call when its session is up
	// (pkg/session's "session up"), one line per login.
	c.log.Debug("outgoing call connected", "call", id, "peer_call", m.CallID, "serial", m.CallSerialNumber,
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

// logRefusal logs a refused call, at most once a second for all the
// connections sharing c's Counters: a peer can send refused requests as
// fast as it likes (issue 14 item 2), the counters count every one.
func (c *Conn) logRefusal(args ...any) {
	if ok, n := c.ctr.refuseLog.Allow(time.Now()); ok {
		c.log.Warn("outgoing call refused", append(args, "suppressed", n)...)
	}
}

// callCount is how many calls the connection holds.
func (c *Conn) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
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
