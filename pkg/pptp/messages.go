package pptp

// The control messages of RFC 2637 §2. Each fields method lists the body in
// wire order; the 12-byte header is handled by parseInto/appendMessage.

// StartControlConnectionRequest (SCCRQ, RFC 2637 §2.1) opens the control
// connection.
type StartControlConnectionRequest struct {
	ProtocolVersion     uint16
	FramingCapabilities uint32
	BearerCapabilities  uint32
	MaxChannels         uint16
	FirmwareRevision    uint16
	HostName            string
	VendorName          string
}

func (*StartControlConnectionRequest) Type() MessageType        { return TypeStartControlConnectionRequest }
func (m *StartControlConnectionRequest) Parse(b []byte) error   { return parseInto(b, m) }
func (m *StartControlConnectionRequest) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *StartControlConnectionRequest) fields(c *codec) {
	c.u16(&m.ProtocolVersion)
	c.reserved(2)
	c.u32(&m.FramingCapabilities)
	c.u32(&m.BearerCapabilities)
	c.u16(&m.MaxChannels)
	c.u16(&m.FirmwareRevision)
	c.text(&m.HostName, hostLen)
	c.text(&m.VendorName, hostLen)
}

// StartControlConnectionReply (SCCRP, RFC 2637 §2.2).
type StartControlConnectionReply struct {
	ProtocolVersion     uint16
	Result              ControlResult
	Error               ErrorCode
	FramingCapabilities uint32
	BearerCapabilities  uint32
	MaxChannels         uint16
	FirmwareRevision    uint16
	HostName            string
	VendorName          string
}

func (*StartControlConnectionReply) Type() MessageType        { return TypeStartControlConnectionReply }
func (m *StartControlConnectionReply) Parse(b []byte) error   { return parseInto(b, m) }
func (m *StartControlConnectionReply) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *StartControlConnectionReply) fields(c *codec) {
	c.u16(&m.ProtocolVersion)
	c.u8((*uint8)(&m.Result))
	c.u8((*uint8)(&m.Error))
	c.u32(&m.FramingCapabilities)
	c.u32(&m.BearerCapabilities)
	c.u16(&m.MaxChannels)
	c.u16(&m.FirmwareRevision)
	c.text(&m.HostName, hostLen)
	c.text(&m.VendorName, hostLen)
}

// StopControlConnectionRequest (StopCCRQ, RFC 2637 §2.3).
type StopControlConnectionRequest struct {
	Reason StopReason
}

func (*StopControlConnectionRequest) Type() MessageType        { return TypeStopControlConnectionRequest }
func (m *StopControlConnectionRequest) Parse(b []byte) error   { return parseInto(b, m) }
func (m *StopControlConnectionRequest) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *StopControlConnectionRequest) fields(c *codec) {
	c.u8((*uint8)(&m.Reason))
	c.reserved(3)
}

// StopControlConnectionReply (StopCCRP, RFC 2637 §2.4).
type StopControlConnectionReply struct {
	Result GeneralResult
	Error  ErrorCode
}

func (*StopControlConnectionReply) Type() MessageType        { return TypeStopControlConnectionReply }
func (m *StopControlConnectionReply) Parse(b []byte) error   { return parseInto(b, m) }
func (m *StopControlConnectionReply) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *StopControlConnectionReply) fields(c *codec) {
	c.u8((*uint8)(&m.Result))
	c.u8((*uint8)(&m.Error))
	c.reserved(2)
}

// EchoRequest (RFC 2637 §2.5) is the control connection keep-alive.
type EchoRequest struct {
	Identifier uint32
}

func (*EchoRequest) Type() MessageType        { return TypeEchoRequest }
func (m *EchoRequest) Parse(b []byte) error   { return parseInto(b, m) }
func (m *EchoRequest) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *EchoRequest) fields(c *codec)        { c.u32(&m.Identifier) }

// EchoReply (RFC 2637 §2.6).
type EchoReply struct {
	Identifier uint32
	Result     GeneralResult
	Error      ErrorCode
}

func (*EchoReply) Type() MessageType        { return TypeEchoReply }
func (m *EchoReply) Parse(b []byte) error   { return parseInto(b, m) }
func (m *EchoReply) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *EchoReply) fields(c *codec) {
	c.u32(&m.Identifier)
	c.u8((*uint8)(&m.Result))
	c.u8((*uint8)(&m.Error))
	c.reserved(2)
}

// OutgoingCallRequest (OCRQ, RFC 2637 §2.7): the PNS asks the PAC for a
// call. CallID is the PNS's: the GRE key of packets sent to it.
type OutgoingCallRequest struct {
	CallID           uint16
	CallSerialNumber uint16
	MinBPS           uint32
	MaxBPS           uint32
	BearerType       uint32
	FramingType      uint32
	RecvWindow       uint16 // Packet Receive Window Size of the PNS
	ProcessingDelay  uint16 // Packet Processing Delay, 1/10 s
	PhoneNumberLen   uint16
	PhoneNumber      string
	Subaddress       string
}

func (*OutgoingCallRequest) Type() MessageType        { return TypeOutgoingCallRequest }
func (m *OutgoingCallRequest) Parse(b []byte) error   { return parseInto(b, m) }
func (m *OutgoingCallRequest) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *OutgoingCallRequest) fields(c *codec) {
	c.u16(&m.CallID)
	c.u16(&m.CallSerialNumber)
	c.u32(&m.MinBPS)
	c.u32(&m.MaxBPS)
	c.u32(&m.BearerType)
	c.u32(&m.FramingType)
	c.u16(&m.RecvWindow)
	c.u16(&m.ProcessingDelay)
	c.u16(&m.PhoneNumberLen)
	c.reserved(2)
	c.text(&m.PhoneNumber, hostLen)
	c.text(&m.Subaddress, hostLen)
}

// OutgoingCallReply (OCRP, RFC 2637 §2.8). CallID is the PAC's call ID,
// PeerCallID echoes the PNS's.
type OutgoingCallReply struct {
	CallID            uint16
	PeerCallID        uint16
	Result            OutgoingResult
	Error             ErrorCode
	Cause             uint16
	ConnectSpeed      uint32
	RecvWindow        uint16 // Packet Receive Window Size of the PAC
	ProcessingDelay   uint16
	PhysicalChannelID uint32
}

func (*OutgoingCallReply) Type() MessageType        { return TypeOutgoingCallReply }
func (m *OutgoingCallReply) Parse(b []byte) error   { return parseInto(b, m) }
func (m *OutgoingCallReply) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *OutgoingCallReply) fields(c *codec) {
	c.u16(&m.CallID)
	c.u16(&m.PeerCallID)
	c.u8((*uint8)(&m.Result))
	c.u8((*uint8)(&m.Error))
	c.u16(&m.Cause)
	c.u32(&m.ConnectSpeed)
	c.u16(&m.RecvWindow)
	c.u16(&m.ProcessingDelay)
	c.u32(&m.PhysicalChannelID)
}

// IncomingCallRequest (ICRQ, RFC 2637 §2.9): PAC to PNS.
type IncomingCallRequest struct {
	CallID            uint16
	CallSerialNumber  uint16
	BearerType        uint32
	PhysicalChannelID uint32
	DialedNumberLen   uint16
	DialingNumberLen  uint16
	DialedNumber      string
	DialingNumber     string
	Subaddress        string
}

func (*IncomingCallRequest) Type() MessageType        { return TypeIncomingCallRequest }
func (m *IncomingCallRequest) Parse(b []byte) error   { return parseInto(b, m) }
func (m *IncomingCallRequest) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *IncomingCallRequest) fields(c *codec) {
	c.u16(&m.CallID)
	c.u16(&m.CallSerialNumber)
	c.u32(&m.BearerType)
	c.u32(&m.PhysicalChannelID)
	c.u16(&m.DialedNumberLen)
	c.u16(&m.DialingNumberLen)
	c.text(&m.DialedNumber, hostLen)
	c.text(&m.DialingNumber, hostLen)
	c.text(&m.Subaddress, hostLen)
}

// IncomingCallReply (ICRP, RFC 2637 §2.10): PNS to PAC.
type IncomingCallReply struct {
	CallID        uint16
	PeerCallID    uint16
	Result        IncomingResult
	Error         ErrorCode
	RecvWindow    uint16
	TransmitDelay uint16
}

func (*IncomingCallReply) Type() MessageType        { return TypeIncomingCallReply }
func (m *IncomingCallReply) Parse(b []byte) error   { return parseInto(b, m) }
func (m *IncomingCallReply) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *IncomingCallReply) fields(c *codec) {
	c.u16(&m.CallID)
	c.u16(&m.PeerCallID)
	c.u8((*uint8)(&m.Result))
	c.u8((*uint8)(&m.Error))
	c.u16(&m.RecvWindow)
	c.u16(&m.TransmitDelay)
	c.reserved(2)
}

// IncomingCallConnected (ICCN, RFC 2637 §2.11): PAC to PNS.
type IncomingCallConnected struct {
	PeerCallID    uint16
	ConnectSpeed  uint32
	RecvWindow    uint16
	TransmitDelay uint16
	FramingType   uint32
}

func (*IncomingCallConnected) Type() MessageType        { return TypeIncomingCallConnected }
func (m *IncomingCallConnected) Parse(b []byte) error   { return parseInto(b, m) }
func (m *IncomingCallConnected) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *IncomingCallConnected) fields(c *codec) {
	c.u16(&m.PeerCallID)
	c.reserved(2)
	c.u32(&m.ConnectSpeed)
	c.u16(&m.RecvWindow)
	c.u16(&m.TransmitDelay)
	c.u32(&m.FramingType)
}

// CallClearRequest (RFC 2637 §2.12): the PNS ends a call. CallID is the
// PNS's own call ID.
type CallClearRequest struct {
	CallID uint16
}

func (*CallClearRequest) Type() MessageType        { return TypeCallClearRequest }
func (m *CallClearRequest) Parse(b []byte) error   { return parseInto(b, m) }
func (m *CallClearRequest) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *CallClearRequest) fields(c *codec) {
	c.u16(&m.CallID)
	c.reserved(2)
}

// CallDisconnectNotify (CDN, RFC 2637 §2.13): the PAC reports a call gone.
// CallID is the PAC's own call ID (the PNS may not have learned it yet).
type CallDisconnectNotify struct {
	CallID         uint16
	Result         DisconnectResult
	Error          ErrorCode
	Cause          uint16
	CallStatistics string
}

func (*CallDisconnectNotify) Type() MessageType        { return TypeCallDisconnectNotify }
func (m *CallDisconnectNotify) Parse(b []byte) error   { return parseInto(b, m) }
func (m *CallDisconnectNotify) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *CallDisconnectNotify) fields(c *codec) {
	c.u16(&m.CallID)
	c.u8((*uint8)(&m.Result))
	c.u8((*uint8)(&m.Error))
	c.u16(&m.Cause)
	c.reserved(2)
	c.text(&m.CallStatistics, statsLen)
}

// WANErrorNotify (RFC 2637 §2.14): the PAC's line error counters.
// PeerCallID is the PNS's call ID.
type WANErrorNotify struct {
	PeerCallID       uint16
	CRCErrors        uint32
	FramingErrors    uint32
	HardwareOverruns uint32
	BufferOverruns   uint32
	TimeoutErrors    uint32
	AlignmentErrors  uint32
}

func (*WANErrorNotify) Type() MessageType        { return TypeWANErrorNotify }
func (m *WANErrorNotify) Parse(b []byte) error   { return parseInto(b, m) }
func (m *WANErrorNotify) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *WANErrorNotify) fields(c *codec) {
	c.u16(&m.PeerCallID)
	c.reserved(2)
	c.u32(&m.CRCErrors)
	c.u32(&m.FramingErrors)
	c.u32(&m.HardwareOverruns)
	c.u32(&m.BufferOverruns)
	c.u32(&m.TimeoutErrors)
	c.u32(&m.AlignmentErrors)
}

// SetLinkInfo (SLI, RFC 2637 §2.15): the PNS tells the PAC the PPP ACCMs.
// PeerCallID is the PAC's call ID.
type SetLinkInfo struct {
	PeerCallID uint16
	SendACCM   uint32
	RecvACCM   uint32
}

func (*SetLinkInfo) Type() MessageType        { return TypeSetLinkInfo }
func (m *SetLinkInfo) Parse(b []byte) error   { return parseInto(b, m) }
func (m *SetLinkInfo) Append(b []byte) []byte { return appendMessage(b, m) }
func (m *SetLinkInfo) fields(c *codec) {
	c.u16(&m.PeerCallID)
	c.reserved(2)
	c.u32(&m.SendACCM)
	c.u32(&m.RecvACCM)
}
