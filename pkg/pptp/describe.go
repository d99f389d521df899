package pptp

import (
	"fmt"
	"strings"
)

// Tracer receives the control messages of a traced connection as an
// operator's trace shows them (the console's `trace user`, `trace peer`).
// Config.Tracer is nil on an untraced connection. pkg/trace's *Call
// implements it.
type Tracer interface {
	// Tracing says whether lines are wanted now; nothing is formatted
	// unless it is true.
	Tracing() bool
	// Trace records one line: layer "pptp", dir "rcvd" or "sent".
	Trace(layer, dir, text string)
}

// trace records m sent or received when the connection is traced.
func (c *Conn) trace(dir string, m Message) {
	if t := c.cfg.Tracer; t != nil && t.Tracing() {
		t.Trace("pptp", dir, Describe(m))
	}
}

// traceNote records a note about the connection, and err if any, when it
// is traced.
func (c *Conn) traceNote(text string, err error) {
	if t := c.cfg.Tracer; t != nil && t.Tracing() {
		if err != nil {
			text = fmt.Sprintf("%s: %v", text, err)
		}
		t.Trace("pptp", "", text)
	}
}

// shortNames are the abbreviations PPTP engineers use (pptpd's logs, RFC
// 2637 §1.6's table).
var shortNames = [...]string{
	TypeStartControlConnectionRequest: "SCCRQ",
	TypeStartControlConnectionReply:   "SCCRP",
	TypeStopControlConnectionRequest:  "StopCCRQ",
	TypeStopControlConnectionReply:    "StopCCRP",
	TypeEchoRequest:                   "ECHORQ",
	TypeEchoReply:                     "ECHORP",
	TypeOutgoingCallRequest:           "OCRQ",
	TypeOutgoingCallReply:             "OCRP",
	TypeIncomingCallRequest:           "ICRQ",
	TypeIncomingCallReply:             "ICRP",
	TypeIncomingCallConnected:         "ICCN",
	TypeCallClearRequest:              "CCRQ",
	TypeCallDisconnectNotify:          "CDN",
	TypeWANErrorNotify:                "WEN",
	TypeSetLinkInfo:                   "SLI",
}

// ShortName is t's abbreviation ("SCCRQ", "OCRP", "CDN").
func ShortName(t MessageType) string {
	if int(t) < len(shortNames) && shortNames[t] != "" {
		return shortNames[t]
	}
	return t.String()
}

// Describe renders a control message on one line, pppd-style:
// `[OCRQ call=0x1 serial=1 bps=300-100000000 window=64 delay=0 phone=""]`.
// Text fields are printed quoted with control characters escaped, so a
// hostile host name cannot forge lines on the operator's screen.
func Describe(m Message) string {
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(ShortName(m.Type()))
	switch m := m.(type) {
	case *StartControlConnectionRequest:
		fmt.Fprintf(&b, " ver=0x%04x framing=%s bearer=%s channels=%d firmware=0x%x host=%q vendor=%q",
			m.ProtocolVersion, framingCaps(m.FramingCapabilities), bearerCaps(m.BearerCapabilities),
			m.MaxChannels, m.FirmwareRevision, m.HostName, m.VendorName)
	case *StartControlConnectionReply:
		fmt.Fprintf(&b, " ver=0x%04x result=%s", m.ProtocolVersion, m.Result)
		errCode(&b, m.Error)
		fmt.Fprintf(&b, " framing=%s bearer=%s channels=%d firmware=0x%x host=%q vendor=%q",
			framingCaps(m.FramingCapabilities), bearerCaps(m.BearerCapabilities),
			m.MaxChannels, m.FirmwareRevision, m.HostName, m.VendorName)
	case *StopControlConnectionRequest:
		fmt.Fprintf(&b, " reason=%s", m.Reason)
	case *StopControlConnectionReply:
		fmt.Fprintf(&b, " result=%s", m.Result)
		errCode(&b, m.Error)
	case *EchoRequest:
		fmt.Fprintf(&b, " id=0x%x", m.Identifier)
	case *EchoReply:
		fmt.Fprintf(&b, " id=0x%x result=%s", m.Identifier, m.Result)
		errCode(&b, m.Error)
	case *OutgoingCallRequest:
		fmt.Fprintf(&b, " call=0x%x serial=%d bps=%d-%d bearer=%d framing=%d window=%d delay=%d phone=%q",
			m.CallID, m.CallSerialNumber, m.MinBPS, m.MaxBPS, m.BearerType, m.FramingType,
			m.RecvWindow, m.ProcessingDelay, m.PhoneNumber)
	case *OutgoingCallReply:
		fmt.Fprintf(&b, " call=0x%x peer-call=0x%x result=%s", m.CallID, m.PeerCallID, m.Result)
		errCode(&b, m.Error)
		fmt.Fprintf(&b, " cause=%d speed=%d window=%d delay=%d", m.Cause, m.ConnectSpeed, m.RecvWindow, m.ProcessingDelay)
	case *IncomingCallRequest:
		fmt.Fprintf(&b, " call=0x%x serial=%d bearer=%d dialed=%q dialing=%q", m.CallID, m.CallSerialNumber, m.BearerType, m.DialedNumber, m.DialingNumber)
	case *IncomingCallReply:
		fmt.Fprintf(&b, " call=0x%x peer-call=0x%x result=%s", m.CallID, m.PeerCallID, m.Result)
		errCode(&b, m.Error)
	case *IncomingCallConnected:
		fmt.Fprintf(&b, " peer-call=0x%x speed=%d window=%d delay=%d framing=%d", m.PeerCallID, m.ConnectSpeed, m.RecvWindow, m.TransmitDelay, m.FramingType)
	case *CallClearRequest:
		fmt.Fprintf(&b, " call=0x%x", m.CallID)
	case *CallDisconnectNotify:
		fmt.Fprintf(&b, " call=0x%x result=%s", m.CallID, m.Result)
		errCode(&b, m.Error)
		fmt.Fprintf(&b, " cause=%d", m.Cause)
		if m.CallStatistics != "" {
			fmt.Fprintf(&b, " stats=%q", m.CallStatistics)
		}
	case *WANErrorNotify:
		fmt.Fprintf(&b, " peer-call=0x%x crc=%d framing=%d hw-overruns=%d buf-overruns=%d timeouts=%d alignment=%d",
			m.PeerCallID, m.CRCErrors, m.FramingErrors, m.HardwareOverruns, m.BufferOverruns, m.TimeoutErrors, m.AlignmentErrors)
	case *SetLinkInfo:
		fmt.Fprintf(&b, " peer-call=0x%x send-accm=0x%08x recv-accm=0x%08x", m.PeerCallID, m.SendACCM, m.RecvACCM)
	}
	b.WriteByte(']')
	return b.String()
}

func errCode(b *strings.Builder, e ErrorCode) {
	if e != ErrorNone {
		fmt.Fprintf(b, " error=%s", e)
	}
}

func framingCaps(v uint32) string {
	return caps(v, FramingAsync, "async", FramingSync, "sync")
}

func bearerCaps(v uint32) string {
	return caps(v, BearerAnalog, "analog", BearerDigit, "digital")
}

func caps(v, b1 uint32, n1 string, b2 uint32, n2 string) string {
	var parts []string
	if v&b1 != 0 {
		parts = append(parts, n1)
	}
	if v&b2 != 0 {
		parts = append(parts, n2)
	}
	if rest := v &^ (b1 | b2); rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", rest))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Tracer is the connection's Config.Tracer (nil when untraced).
func (c *Conn) Tracer() Tracer { return c.cfg.Tracer }
