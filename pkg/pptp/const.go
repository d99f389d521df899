package pptp

import "fmt"

// Every wire constant of the PPTP control protocol (RFC 2637 §1.3, §2).
const (
	// Port is the TCP port of the control connection (RFC 2637 §1.3).
	Port = 1723
	// MagicCookie is in every control message header; a message without it
	// means the stream is out of sync and the connection must close
	// (RFC 2637 §1.4).
	MagicCookie uint32 = 0x1A2B3C4D
	// ProtocolVersion is version 1 revision 0, as sent in SCCRQ/SCCRP
	// (RFC 2637 §2.1).
	ProtocolVersion uint16 = 0x0100

	// HeaderLen is the common header: Length, PPTP Message Type, Magic
	// Cookie, Control Message Type, Reserved0 (RFC 2637 §1.4).
	HeaderLen = 12
	// MaxMessageLen bounds the Length field. The largest defined message
	// (Incoming-Call-Request) is 220 bytes; a length above this limit is an
	// out-of-sync or hostile stream, not a message to skip.
	MaxMessageLen = 1024

	// hostLen is the size of the Host Name, Vendor Name, Phone Number,
	// Subaddress, Dialed/Dialing Number fields: NUL-padded ASCII.
	hostLen = 64
	// statsLen is the size of Call Statistics in Call-Disconnect-Notify.
	statsLen = 128
)

// PPTPMessageType is the PPTP Message Type header field (RFC 2637 §1.4).
type PPTPMessageType uint16

const (
	TypeControl    PPTPMessageType = 1
	TypeManagement PPTPMessageType = 2 // defined by the RFC but never specified
)

func (t PPTPMessageType) String() string {
	switch t {
	case TypeControl:
		return "control"
	case TypeManagement:
		return "management"
	}
	return fmt.Sprintf("pptp-type-%d", uint16(t))
}

// MessageType is the Control Message Type header field (RFC 2637 §1.4).
type MessageType uint16

const (
	TypeStartControlConnectionRequest MessageType = 1
	TypeStartControlConnectionReply   MessageType = 2
	TypeStopControlConnectionRequest  MessageType = 3
	TypeStopControlConnectionReply    MessageType = 4
	TypeEchoRequest                   MessageType = 5
	TypeEchoReply                     MessageType = 6
	TypeOutgoingCallRequest           MessageType = 7
	TypeOutgoingCallReply             MessageType = 8
	TypeIncomingCallRequest           MessageType = 9
	TypeIncomingCallReply             MessageType = 10
	TypeIncomingCallConnected         MessageType = 11
	TypeCallClearRequest              MessageType = 12
	TypeCallDisconnectNotify          MessageType = 13
	TypeWANErrorNotify                MessageType = 14
	TypeSetLinkInfo                   MessageType = 15
)

var messageTypeNames = [...]string{
	TypeStartControlConnectionRequest: "Start-Control-Connection-Request",
	TypeStartControlConnectionReply:   "Start-Control-Connection-Reply",
	TypeStopControlConnectionRequest:  "Stop-Control-Connection-Request",
	TypeStopControlConnectionReply:    "Stop-Control-Connection-Reply",
	TypeEchoRequest:                   "Echo-Request",
	TypeEchoReply:                     "Echo-Reply",
	TypeOutgoingCallRequest:           "Outgoing-Call-Request",
	TypeOutgoingCallReply:             "Outgoing-Call-Reply",
	TypeIncomingCallRequest:           "Incoming-Call-Request",
	TypeIncomingCallReply:             "Incoming-Call-Reply",
	TypeIncomingCallConnected:         "Incoming-Call-Connected",
	TypeCallClearRequest:              "Call-Clear-Request",
	TypeCallDisconnectNotify:          "Call-Disconnect-Notify",
	TypeWANErrorNotify:                "WAN-Error-Notify",
	TypeSetLinkInfo:                   "Set-Link-Info",
}

func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) && messageTypeNames[t] != "" {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("message-type-%d", uint16(t))
}

// messageLen is the fixed total length (header included) of each message,
// from the layouts in RFC 2637 §2.1-§2.15.
var messageLen = [...]int{
	TypeStartControlConnectionRequest: 156,
	TypeStartControlConnectionReply:   156,
	TypeStopControlConnectionRequest:  16,
	TypeStopControlConnectionReply:    16,
	TypeEchoRequest:                   16,
	TypeEchoReply:                     20,
	TypeOutgoingCallRequest:           168,
	TypeOutgoingCallReply:             32,
	TypeIncomingCallRequest:           220,
	TypeIncomingCallReply:             24,
	TypeIncomingCallConnected:         28,
	TypeCallClearRequest:              16,
	TypeCallDisconnectNotify:          148,
	TypeWANErrorNotify:                40,
	TypeSetLinkInfo:                   24,
}

// Capability bits of SCCRQ/SCCRP (RFC 2637 §2.1).
const (
	FramingAsync uint32 = 1 // Framing Capabilities: asynchronous framing
	FramingSync  uint32 = 2 // Framing Capabilities: synchronous framing
	BearerAnalog uint32 = 1 // Bearer Capabilities: analog access
	BearerDigit  uint32 = 2 // Bearer Capabilities: digital access
)

// Framing and bearer types of a call (RFC 2637 §2.7, §2.9, §2.11).
const (
	FramingTypeAsync  uint32 = 1
	FramingTypeSync   uint32 = 2
	FramingTypeEither uint32 = 3
	BearerTypeAnalog  uint32 = 1
	BearerTypeDigital uint32 = 2
	BearerTypeEither  uint32 = 3
)

// ControlResult is the Result Code of Start-Control-Connection-Reply
// (RFC 2637 §2.2).
type ControlResult uint8

const (
	ControlOK              ControlResult = 1 // Successful channel establishment
	ControlGeneralError    ControlResult = 2 // see Error Code
	ControlChannelExists   ControlResult = 3 // Command channel already exists
	ControlNotAuthorized   ControlResult = 4 // Requester is not authorized
	ControlVersionMismatch ControlResult = 5 // Protocol version not supported
)

func (r ControlResult) String() string {
	return enumName(uint8(r), "control-result", "ok", "general-error", "channel-exists", "not-authorized", "version-not-supported")
}

// StopReason is the Reason of Stop-Control-Connection-Request
// (RFC 2637 §2.3).
type StopReason uint8

const (
	StopNone          StopReason = 1 // General request to clear the control connection
	StopProtocol      StopReason = 2 // Can't support peer's version of the protocol
	StopLocalShutdown StopReason = 3 // Requester is being shut down
)

func (r StopReason) String() string {
	return enumName(uint8(r), "stop-reason", "none", "stop-protocol", "local-shutdown")
}

// GeneralResult is the Result Code of Stop-Control-Connection-Reply and
// Echo-Reply (RFC 2637 §2.4, §2.6).
type GeneralResult uint8

const (
	ResultOK           GeneralResult = 1
	ResultGeneralError GeneralResult = 2
)

func (r GeneralResult) String() string {
	return enumName(uint8(r), "result", "ok", "general-error")
}

// OutgoingResult is the Result Code of Outgoing-Call-Reply (RFC 2637 §2.8).
type OutgoingResult uint8

const (
	OutgoingConnected    OutgoingResult = 1
	OutgoingGeneralError OutgoingResult = 2
	OutgoingNoCarrier    OutgoingResult = 3
	OutgoingBusy         OutgoingResult = 4
	OutgoingNoDialTone   OutgoingResult = 5
	OutgoingTimeout      OutgoingResult = 6
	OutgoingDoNotAccept  OutgoingResult = 7 // the PAC refuses calls from this PNS
)

func (r OutgoingResult) String() string {
	return enumName(uint8(r), "outgoing-result", "connected", "general-error", "no-carrier", "busy", "no-dial-tone", "timeout", "do-not-accept")
}

// IncomingResult is the Result Code of Incoming-Call-Reply (RFC 2637 §2.10).
type IncomingResult uint8

const (
	IncomingConnect      IncomingResult = 1
	IncomingGeneralError IncomingResult = 2
	IncomingDoNotAccept  IncomingResult = 3
)

func (r IncomingResult) String() string {
	return enumName(uint8(r), "incoming-result", "connect", "general-error", "do-not-accept")
}

// DisconnectResult is the Result Code of Call-Disconnect-Notify
// (RFC 2637 §2.13). [MS-PTPT] §3.2.5.5 has Windows ignore it.
type DisconnectResult uint8

const (
	DisconnectLostCarrier  DisconnectResult = 1
	DisconnectGeneralError DisconnectResult = 2
	DisconnectAdminDown    DisconnectResult = 3 // Administrative shutdown
	DisconnectRequest      DisconnectResult = 4 // Call-Clear-Request received
)

func (r DisconnectResult) String() string {
	return enumName(uint8(r), "disconnect-result", "lost-carrier", "general-error", "admin-shutdown", "request")
}

// ErrorCode is the Error Code that accompanies a General Error result
// (RFC 2637 §2.16).
type ErrorCode uint8

const (
	ErrorNone         ErrorCode = 0 // No general error
	ErrorNotConnected ErrorCode = 1 // No control connection exists yet
	ErrorBadFormat    ErrorCode = 2 // Length is wrong or Magic Cookie is wrong
	ErrorBadValue     ErrorCode = 3 // One of the field values was out of range
	ErrorNoResource   ErrorCode = 4 // Insufficient resources to handle the command
	ErrorBadCallID    ErrorCode = 5 // The Call ID is invalid in this context
	ErrorPACError     ErrorCode = 6 // A generic vendor-specific error at the PAC
)

func (e ErrorCode) String() string {
	if e == ErrorNone {
		return "none"
	}
	return enumName(uint8(e), "error", "not-connected", "bad-format", "bad-value", "no-resource", "bad-call-id", "pac-error")
}

// enumName names a 1-based code from names, or prefix-N for others.
func enumName(v uint8, prefix string, names ...string) string {
	if v >= 1 && int(v) <= len(names) {
		return names[v-1]
	}
	return fmt.Sprintf("%s-%d", prefix, v)
}
