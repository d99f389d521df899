// Package pptp implements the PPTP control connection (RFC 2637): every
// control message with its wire codec, stream framing, and the connection
// state machine for both ends — the server (PAC, the access concentrator
// that accepts outgoing calls) and the client (PNS, which places them).
//
// # Messages
//
// Each control message is a struct with Parse (a whole message, header
// included) and Append (appends the whole message). Field order and sizes
// follow RFC 2637 §2.1-§2.15; integers are big-endian; the 64-byte name and
// number fields (128 for call statistics) are NUL-padded text, truncated on
// Append when longer. Reserved fields are zero on Append and ignored by
// Parse. ReadMessage frames messages on the TCP stream.
//
// # Connections
//
// Conn is one control connection; see conn.go. Call IDs are the GRE keys of
// the data channel (pkg/gre).
package pptp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors of the codec. ErrBadMagic and ErrBadLength mean the stream cannot
// be trusted any more and the connection closes (RFC 2637 §1.4); after
// ErrUnknownMessage the message has been consumed and reading continues.
var (
	ErrBadMagic       = errors.New("pptp: bad magic cookie")
	ErrBadLength      = errors.New("pptp: bad message length")
	ErrUnknownMessage = errors.New("pptp: unknown message type")
	ErrMalformed      = errors.New("pptp: malformed message")
)

// Message is a PPTP control message.
type Message interface {
	// Type is the Control Message Type of the message.
	Type() MessageType
	// Parse decodes a whole message, header included, into the receiver.
	Parse(b []byte) error
	// Append appends the encoded message, header included, to b.
	Append(b []byte) []byte
	// fields walks the body fields in wire order (see codec).
	fields(c *codec)
}

// codec walks a message body in wire order, reading or writing each field.
// One walk per message type describes both directions, so the encoder and
// the decoder cannot disagree about the layout.
type codec struct {
	b     []byte // read: the body; write: the output being appended to
	off   int    // read position
	write bool
}

func (c *codec) u8(v *uint8) {
	if c.write {
		c.b = append(c.b, *v)
		return
	}
	*v = c.b[c.off]
	c.off++
}

func (c *codec) u16(v *uint16) {
	if c.write {
		c.b = binary.BigEndian.AppendUint16(c.b, *v)
		return
	}
	*v = binary.BigEndian.Uint16(c.b[c.off:])
	c.off += 2
}

func (c *codec) u32(v *uint32) {
	if c.write {
		c.b = binary.BigEndian.AppendUint32(c.b, *v)
		return
	}
	*v = binary.BigEndian.Uint32(c.b[c.off:])
	c.off += 4
}

// reserved skips n bytes on read and writes n zero bytes.
func (c *codec) reserved(n int) {
	if c.write {
		c.b = append(c.b, make([]byte, n)...)
		return
	}
	c.off += n
}

// text is a fixed-size NUL-padded field of n bytes. The value ends at the
// first NUL; a longer string is truncated to n bytes on write.
func (c *codec) text(v *string, n int) {
	if c.write {
		s := *v
		if len(s) > n {
			s = s[:n]
		}
		c.b = append(c.b, s...)
		c.b = append(c.b, make([]byte, n-len(s))...)
		return
	}
	f := c.b[c.off : c.off+n]
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	*v = string(f)
	c.off += n
}

// lowerName is a message type name as errors spell it.
func lowerName(t MessageType) string { return strings.ToLower(t.String()) }

// knownType reports whether t is a control message this package defines.
func knownType(t MessageType) bool {
	return int(t) < len(messageLen) && messageLen[t] != 0
}

// header is the common header of every message (RFC 2637 §1.4).
type header struct {
	length  uint16
	pptp    PPTPMessageType
	magic   uint32
	ctlType MessageType
}

func parseHeader(b []byte) header {
	return header{
		length:  binary.BigEndian.Uint16(b[0:2]),
		pptp:    PPTPMessageType(binary.BigEndian.Uint16(b[2:4])),
		magic:   binary.BigEndian.Uint32(b[4:8]),
		ctlType: MessageType(binary.BigEndian.Uint16(b[8:10])),
	}
}

// checkFraming validates what the stream framing depends on: a length
// within bounds and the magic cookie.
func (h header) checkFraming() error {
	if h.length < HeaderLen || h.length > MaxMessageLen {
		return fmt.Errorf("%w %d", ErrBadLength, h.length)
	}
	if h.magic != MagicCookie {
		return fmt.Errorf("%w 0x%08x", ErrBadMagic, h.magic)
	}
	return nil
}

// parseInto decodes b, a whole message, into m.
func parseInto(b []byte, m Message) error {
	t := m.Type()
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: %s: bad length %d", ErrMalformed, lowerName(t), len(b))
	}
	h := parseHeader(b)
	if err := h.checkFraming(); err != nil {
		return fmt.Errorf("pptp: %s: %w", lowerName(t), err)
	}
	if h.pptp != TypeControl || h.ctlType != t {
		return fmt.Errorf("%w: %s: got %s %s", ErrMalformed, lowerName(t), h.pptp, h.ctlType)
	}
	if int(h.length) != len(b) || len(b) != messageLen[t] {
		return fmt.Errorf("%w: %s: bad length %d", ErrMalformed, lowerName(t), h.length)
	}
	m.fields(&codec{b: b[HeaderLen:]})
	return nil
}

// appendMessage appends the header and body of m to b.
func appendMessage(b []byte, m Message) []byte {
	t := m.Type()
	b = binary.BigEndian.AppendUint16(b, uint16(messageLen[t]))
	b = binary.BigEndian.AppendUint16(b, uint16(TypeControl))
	b = binary.BigEndian.AppendUint32(b, MagicCookie)
	b = binary.BigEndian.AppendUint16(b, uint16(t))
	b = binary.BigEndian.AppendUint16(b, 0) // Reserved0
	c := codec{b: b, write: true}
	m.fields(&c)
	return c.b
}

// newMessage returns an empty message of type t, or nil if t is unknown.
func newMessage(t MessageType) Message {
	switch t {
	case TypeStartControlConnectionRequest:
		return new(StartControlConnectionRequest)
	case TypeStartControlConnectionReply:
		return new(StartControlConnectionReply)
	case TypeStopControlConnectionRequest:
		return new(StopControlConnectionRequest)
	case TypeStopControlConnectionReply:
		return new(StopControlConnectionReply)
	case TypeEchoRequest:
		return new(EchoRequest)
	case TypeEchoReply:
		return new(EchoReply)
	case TypeOutgoingCallRequest:
		return new(OutgoingCallRequest)
	case TypeOutgoingCallReply:
		return new(OutgoingCallReply)
	case TypeIncomingCallRequest:
		return new(IncomingCallRequest)
	case TypeIncomingCallReply:
		return new(IncomingCallReply)
	case TypeIncomingCallConnected:
		return new(IncomingCallConnected)
	case TypeCallClearRequest:
		return new(CallClearRequest)
	case TypeCallDisconnectNotify:
		return new(CallDisconnectNotify)
	case TypeWANErrorNotify:
		return new(WANErrorNotify)
	case TypeSetLinkInfo:
		return new(SetLinkInfo)
	}
	return nil
}

// Parse decodes one whole control message of any type.
func Parse(b []byte) (Message, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("%w %d", ErrBadLength, len(b))
	}
	h := parseHeader(b)
	if err := h.checkFraming(); err != nil {
		return nil, err
	}
	if h.pptp != TypeControl || !knownType(h.ctlType) {
		return nil, fmt.Errorf("%w: %s %s", ErrUnknownMessage, h.pptp, h.ctlType)
	}
	m := newMessage(h.ctlType)
	if err := m.Parse(b); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadMessage reads the next control message from the stream r, using buf
// (MaxMessageLen bytes or more, else one is allocated) for the bytes; the
// message does not alias buf. Errors: the reader's (io.EOF between
// messages, io.ErrUnexpectedEOF inside one); ErrBadLength or ErrBadMagic,
// after which the stream is out of sync and must be closed; ErrUnknownMessage
// (a management message or an undefined control type), consumed whole, so
// the caller may count it and read on; ErrMalformed, a known type with the
// wrong length, also consumed whole.
func ReadMessage(r io.Reader, buf []byte) (Message, error) {
	if len(buf) < MaxMessageLen {
		buf = make([]byte, MaxMessageLen)
	}
	if _, err := io.ReadFull(r, buf[:HeaderLen]); err != nil {
		return nil, err
	}
	return readBody(r, buf)
}

// readBody is the rest of ReadMessage, once buf[:HeaderLen] holds the
// header.
func readBody(r io.Reader, buf []byte) (Message, error) {
	h := parseHeader(buf)
	if err := h.checkFraming(); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, buf[HeaderLen:h.length]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("pptp: reading %s: %w", lowerName(h.ctlType), err)
	}
	return Parse(buf[:h.length])
}
