package pptp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// sampleMessages has one message of every type with every field set to a
// distinct value, so a swapped or misplaced field shows in the round trip.
func sampleMessages() []Message {
	return []Message{
		&StartControlConnectionRequest{ProtocolVersion: 0x0100, FramingCapabilities: 3, BearerCapabilities: 2,
			MaxChannels: 7, FirmwareRevision: 0x0a0b, HostName: "client.example", VendorName: "Microsoft"},
		&StartControlConnectionReply{ProtocolVersion: 0x0100, Result: ControlOK, Error: ErrorBadValue,
			FramingCapabilities: 1, BearerCapabilities: 3, MaxChannels: 9, FirmwareRevision: 2,
			HostName: strings.Repeat("h", 64), VendorName: "pptpbox"},
		&StopControlConnectionRequest{Reason: StopLocalShutdown},
		&StopControlConnectionReply{Result: ResultGeneralError, Error: ErrorPACError},
		&EchoRequest{Identifier: 0xdeadbeef},
		&EchoReply{Identifier: 0x01020304, Result: ResultOK, Error: ErrorNotConnected},
		&OutgoingCallRequest{CallID: 0x1234, CallSerialNumber: 0x5678, MinBPS: 2400, MaxBPS: 10_000_000,
			BearerType: BearerTypeEither, FramingType: FramingTypeAsync, RecvWindow: 64, ProcessingDelay: 3,
			PhoneNumberLen: 4, PhoneNumber: "5551", Subaddress: "sub"},
		&OutgoingCallReply{CallID: 0x8001, PeerCallID: 0x1234, Result: OutgoingBusy, Error: ErrorNoResource,
			Cause: 0x0102, ConnectSpeed: 64000, RecvWindow: 16, ProcessingDelay: 1, PhysicalChannelID: 0xcafe},
		&IncomingCallRequest{CallID: 1, CallSerialNumber: 2, BearerType: 3, PhysicalChannelID: 4,
			DialedNumberLen: 5, DialingNumberLen: 6, DialedNumber: "12345", DialingNumber: "123456", Subaddress: "x"},
		&IncomingCallReply{CallID: 7, PeerCallID: 8, Result: IncomingDoNotAccept, Error: ErrorBadCallID,
			RecvWindow: 9, TransmitDelay: 10},
		&IncomingCallConnected{PeerCallID: 11, ConnectSpeed: 12, RecvWindow: 13, TransmitDelay: 14, FramingType: 2},
		&CallClearRequest{CallID: 0xfffe},
		&CallDisconnectNotify{CallID: 0x0203, Result: DisconnectAdminDown, Error: ErrorNone, Cause: 0x0405,
			CallStatistics: strings.Repeat("s", 128)},
		&WANErrorNotify{PeerCallID: 1, CRCErrors: 2, FramingErrors: 3, HardwareOverruns: 4, BufferOverruns: 5,
			TimeoutErrors: 6, AlignmentErrors: 7},
		&SetLinkInfo{PeerCallID: 0x0102, SendACCM: 0xffffffff, RecvACCM: 0x000a0000},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	msgs := sampleMessages()
	if len(msgs) != len(messageTypeNames)-1 {
		t.Fatalf("sample has %d messages, the RFC defines %d", len(msgs), len(messageTypeNames)-1)
	}
	for _, m := range msgs {
		t.Run(m.Type().String(), func(t *testing.T) {
			b := m.Append([]byte{0xaa}) // appends after existing bytes
			if b[0] != 0xaa {
				t.Fatal("Append overwrote the prefix")
			}
			b = b[1:]
			if len(b) != messageLen[m.Type()] {
				t.Fatalf("encoded %d bytes, RFC length %d", len(b), messageLen[m.Type()])
			}
			if l := binary.BigEndian.Uint16(b); int(l) != len(b) {
				t.Errorf("Length field %d, message %d bytes", l, len(b))
			}
			if !bytes.Equal(b[2:12], []byte{0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, byte(m.Type()), 0, 0}) {
				t.Errorf("header %x", b[:12])
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
			}
		})
	}
}

// TestWireLayout pins byte positions against RFC 2637 §2.8 and §2.1.
func TestWireLayout(t *testing.T) {
	ocrp := (&OutgoingCallReply{CallID: 0x8001, PeerCallID: 0x1234, Result: OutgoingConnected, Error: ErrorNone,
		Cause: 0, ConnectSpeed: 100_000_000, RecvWindow: 64, ProcessingDelay: 0, PhysicalChannelID: 0}).Append(nil)
	want := "0020" + "0001" + "1a2b3c4d" + "0008" + "0000" +
		"8001" + "1234" + "01" + "00" + "0000" + "05f5e100" + "0040" + "0000" + "00000000"
	if got := hex.EncodeToString(ocrp); got != want {
		t.Errorf("OCRP\n got %s\nwant %s", got, want)
	}
	sccrq := (&StartControlConnectionRequest{ProtocolVersion: 0x0100, FramingCapabilities: 1, BearerCapabilities: 1,
		HostName: "ab", VendorName: "cd"}).Append(nil)
	if got := hex.EncodeToString(sccrq[:28]); got != "009c00011a2b3c4d00010000"+"01000000"+"00000001"+"00000001"+"00000000" {
		t.Errorf("SCCRQ fixed part %s", got)
	}
	if string(sccrq[28:30]) != "ab" || sccrq[30] != 0 || string(sccrq[92:94]) != "cd" || sccrq[155] != 0 {
		t.Errorf("SCCRQ names at wrong offsets: %q", sccrq[28:])
	}
}

func TestTextFields(t *testing.T) {
	// Bytes after the first NUL are padding, and a 64-byte name has none.
	m := &StartControlConnectionRequest{HostName: strings.Repeat("x", 70)}
	b := m.Append(nil)
	copy(b[28+3:], "\x00junk")
	var got StartControlConnectionRequest
	if err := got.Parse(b); err != nil {
		t.Fatal(err)
	}
	if got.HostName != "xxx" {
		t.Errorf("HostName = %q, want %q", got.HostName, "xxx")
	}
	b = m.Append(nil)
	if err := got.Parse(b); err != nil || got.HostName != strings.Repeat("x", 64) {
		t.Errorf("70-byte name encoded as %q, %v", got.HostName, err)
	}
}

func withHeader(length uint16, pptpType uint16, magic uint32, ctl MessageType, bodyLen int) []byte {
	b := binary.BigEndian.AppendUint16(nil, length)
	b = binary.BigEndian.AppendUint16(b, pptpType)
	b = binary.BigEndian.AppendUint32(b, magic)
	b = binary.BigEndian.AppendUint16(b, uint16(ctl))
	b = append(b, 0, 0)
	return append(b, make([]byte, bodyLen)...)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		err  error
		text string
	}{
		{"short", []byte{0, 12, 0}, ErrBadLength, ""},
		{"length below header", withHeader(11, 1, MagicCookie, TypeEchoRequest, 4), ErrBadLength, "length 11"},
		{"absurd length", withHeader(60000, 1, MagicCookie, TypeEchoRequest, 4), ErrBadLength, "length 60000"},
		{"bad magic", withHeader(16, 1, 0x1a2b3c4e, TypeEchoRequest, 4), ErrBadMagic, "0x1a2b3c4e"},
		{"unknown control type", withHeader(16, 1, MagicCookie, 99, 4), ErrUnknownMessage, "message-type-99"},
		{"management message", withHeader(16, 2, MagicCookie, TypeEchoRequest, 4), ErrUnknownMessage, "management"},
		{"type zero", withHeader(12, 1, MagicCookie, 0, 0), ErrUnknownMessage, ""},
		{"truncated OCRQ", withHeader(12, 1, MagicCookie, TypeOutgoingCallRequest, 0), ErrMalformed,
			"outgoing-call-request: bad length 12"},
		{"oversized echo", withHeader(20, 1, MagicCookie, TypeEchoRequest, 8), ErrMalformed, "echo-request: bad length 20"},
		{"length field disagrees", withHeader(16, 1, MagicCookie, TypeEchoRequest, 8), ErrMalformed, "bad length 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.b)
			if !errors.Is(err, tt.err) || !strings.Contains(fmtErr(err), tt.text) {
				t.Fatalf("Parse error = %v, want %v containing %q", err, tt.err, tt.text)
			}
		})
	}
	// A typed Parse refuses another type's message.
	var echo EchoRequest
	if err := echo.Parse((&EchoReply{}).Append(nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("EchoRequest.Parse(EchoReply) = %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReadMessage(t *testing.T) {
	var stream []byte
	stream = (&EchoRequest{Identifier: 1}).Append(stream)
	stream = append(stream, withHeader(20, 1, MagicCookie, 42, 8)...) // unknown: skipped
	stream = (&SetLinkInfo{PeerCallID: 5}).Append(stream)
	stream = append(stream, withHeader(16, 1, MagicCookie, TypeEchoRequest, 0)[:14]...) // truncated

	r := bytes.NewReader(stream)
	buf := make([]byte, MaxMessageLen)
	steps := []struct {
		want Message
		err  error
	}{
		{&EchoRequest{Identifier: 1}, nil},
		{nil, ErrUnknownMessage},
		{&SetLinkInfo{PeerCallID: 5}, nil},
		{nil, io.ErrUnexpectedEOF},
	}
	for i, s := range steps {
		m, err := ReadMessage(r, buf)
		if !errors.Is(err, s.err) || (s.want != nil && !reflect.DeepEqual(m, s.want)) {
			t.Fatalf("step %d: ReadMessage = %+v, %v; want %+v, %v", i, m, err, s.want, s.err)
		}
	}
	if _, err := ReadMessage(r, nil); err != io.EOF {
		t.Errorf("at end: %v, want io.EOF", err)
	}
	// Framing errors stop at the header: the body is never read.
	r = bytes.NewReader(withHeader(16, 1, 0, TypeEchoRequest, 4))
	if _, err := ReadMessage(r, buf); !errors.Is(err, ErrBadMagic) || r.Len() != 4 {
		t.Errorf("bad magic: %v, %d bytes left", err, r.Len())
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		v    interface{ String() string }
		want string
	}{
		{TypeOutgoingCallRequest, "Outgoing-Call-Request"},
		{MessageType(16), "message-type-16"},
		{TypeManagement, "management"},
		{ControlVersionMismatch, "version-not-supported"},
		{ControlResult(0), "control-result-0"},
		{StopLocalShutdown, "local-shutdown"},
		{ResultGeneralError, "general-error"},
		{OutgoingDoNotAccept, "do-not-accept"},
		{IncomingConnect, "connect"},
		{DisconnectRequest, "request"},
		{ErrorNone, "none"},
		{ErrorPACError, "pac-error"},
		{ErrorCode(7), "error-7"},
		{StateWaitStopReply, "wait-stop-reply"},
		{CallWaitDisconnect, "wait-disconnect"},
		{RoleClient, "client"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%T(%v).String() = %q, want %q", tt.v, tt.v, got, tt.want)
		}
	}
}

// checkRoundTrip asserts the round-trip property for a parsed message:
// encode, parse again, compare, and encode again to the same bytes.
func checkRoundTrip(t *testing.T, m Message) {
	enc := m.Append(nil)
	m2, err := Parse(enc)
	if err != nil {
		t.Fatalf("re-parse of %T: %v", m, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip %+v -> %+v", m, m2)
	}
	if enc2 := m2.Append(nil); !bytes.Equal(enc, enc2) {
		t.Fatalf("re-encoding differs: %x vs %x", enc, enc2)
	}
}

func FuzzParse(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		checkRoundTrip(t, m)
	})
}

// FuzzReadMessage reads a whole stream the way Conn.Serve does: unknown and
// malformed messages are consumed and reading goes on; everything parsed
// must round-trip.
func FuzzReadMessage(f *testing.F) {
	var all []byte
	for _, m := range sampleMessages() {
		all = m.Append(all)
	}
	f.Add(all)
	f.Add(append((&EchoRequest{Identifier: 9}).Append(nil), withHeader(16, 2, MagicCookie, 1, 4)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		buf := make([]byte, MaxMessageLen)
		for {
			m, err := ReadMessage(r, buf)
			if errors.Is(err, ErrUnknownMessage) || errors.Is(err, ErrMalformed) {
				continue
			}
			if err != nil {
				return
			}
			checkRoundTrip(t, m)
		}
	})
}

func BenchmarkReadMessage(b *testing.B) {
	msg := (&OutgoingCallRequest{CallID: 1, RecvWindow: 64, PhoneNumber: "1"}).Append(nil)
	r := bytes.NewReader(msg)
	buf := make([]byte, MaxMessageLen)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		if _, err := ReadMessage(r, buf); err != nil {
			b.Fatal(err)
		}
	}
}
