package gre

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		wire    string
		want    Header
		payload string
		err     error
	}{
		{
			name:    "data with seq and ack",
			wire:    "3081880b0002abcd0000000100000007" + "ff03",
			want:    Header{Flags: 0x3081, PayloadLen: 2, CallID: 0xabcd, Seq: 1, Ack: 7, HasSeq: true, HasAck: true},
			payload: "ff03",
		},
		{
			name:    "data with seq only, trailing padding dropped",
			wire:    "3001880b00030102fffffffe" + "c0210900",
			want:    Header{Flags: 0x3001, PayloadLen: 3, CallID: 0x0102, Seq: 0xfffffffe, HasSeq: true},
			payload: "c02109",
		},
		{
			name: "standalone ack: ack takes the seq position",
			wire: "2081880b0000002a00000010",
			want: Header{Flags: 0x2081, CallID: 42, Ack: 16, HasAck: true},
		},
		{
			name:    "reserved flag bits ignored",
			wire:    "3009880b00010001" + "00000000" + "aa",
			want:    Header{Flags: 0x3009, PayloadLen: 1, CallID: 1, HasSeq: true},
			payload: "aa",
		},
		{name: "empty", wire: "", err: ErrShort},
		{name: "seven bytes", wire: "3001880b000100", err: ErrShort},
		{name: "version 0 (plain GRE)", wire: "20000800000100010000000000", err: ErrVersion},
		{name: "version 2", wire: "3002880b0000000100000000", err: ErrVersion},
		{name: "protocol IPv4", wire: "30010800000000010000000000", err: ErrProtocol},
		{name: "no key", wire: "1001880b0000000100000000", err: ErrNoKey},
		{name: "checksum bit", wire: "b001880b0000000100000000", err: ErrFlags},
		{name: "routing bit", wire: "7001880b0000000100000000", err: ErrFlags},
		{name: "strict source route", wire: "3801880b0000000100000000", err: ErrFlags},
		{name: "recursion", wire: "3101880b0000000100000000", err: ErrFlags},
		{name: "seq missing its bytes", wire: "3001880b00000001000000", err: ErrShort},
		{name: "ack missing its bytes", wire: "3081880b000000010000000100", err: ErrShort},
		{name: "payload truncated", wire: "3001880b0005000100000000aabb", err: ErrTruncated},
		{name: "payload without S", wire: "2081880b0002000100000000aabb", err: ErrPayloadNoSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, payload, err := Parse(mustHex(t, tt.wire))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if h != tt.want {
				t.Errorf("Parse header = %+v, want %+v", h, tt.want)
			}
			if !bytes.Equal(payload, mustHex(t, tt.payload)) {
				t.Errorf("payload = %x, want %s", payload, tt.payload)
			}
		})
	}
}

func TestPutHeader(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		wire string
	}{
		{"data", Header{PayloadLen: 0x05dc, CallID: 0x8001, Seq: 0x01020304, HasSeq: true}, "3001880b05dc800101020304"},
		{"data+ack", Header{PayloadLen: 1, CallID: 2, Seq: 3, Ack: 4, HasSeq: true, HasAck: true}, "3081880b000100020000000300000004"},
		{"ack only", Header{CallID: 0xffff, Ack: 0xfffffffF, HasAck: true}, "2081880b0000ffffffffffff"},
		{"bare", Header{CallID: 9}, "2001880b00000009"},
		{"stale S/A flag bits are recomputed", Header{Flags: 0x1080, CallID: 9}, "2001880b00000009"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.wire)
			if got := AppendHeader([]byte{0xee}, tt.h); !bytes.Equal(got[1:], want) || got[0] != 0xee {
				t.Errorf("AppendHeader = %x, want ee%x", got, want)
			}
			buf := make([]byte, MaxHeaderLen)
			n, err := PutHeader(buf, tt.h)
			if err != nil || !bytes.Equal(buf[:n], want) {
				t.Errorf("PutHeader = %x, %v; want %x", buf[:n], err, want)
			}
			if n != tt.h.Len() {
				t.Errorf("PutHeader n = %d, Len() = %d", n, tt.h.Len())
			}
			if _, err := PutHeader(buf[:n-1], tt.h); !errors.Is(err, ErrHeaderTooSmall) {
				t.Errorf("PutHeader into %d bytes: err = %v, want ErrHeaderTooSmall", n-1, err)
			}
		})
	}
}

func TestEncapsulate(t *testing.T) {
	buf := make([]byte, 64)
	off := MaxHeaderLen
	copy(buf[off:], "hello")
	h := Header{PayloadLen: 5, CallID: 7, Seq: 1, HasSeq: true}
	pkt, err := Encapsulate(buf, off, h)
	if err != nil {
		t.Fatal(err)
	}
	got, payload, err := Parse(pkt)
	if err != nil || string(payload) != "hello" || got.CallID != 7 || got.Seq != 1 {
		t.Fatalf("Parse(Encapsulate) = %+v %q %v", got, payload, err)
	}
	if _, err := Encapsulate(buf, 4, h); !errors.Is(err, ErrHeaderTooSmall) {
		t.Errorf("Encapsulate with 4 bytes headroom: err = %v", err)
	}
	if _, err := Encapsulate(buf, 60, h); !errors.Is(err, ErrHeaderTooSmall) {
		t.Errorf("Encapsulate past the buffer: err = %v", err)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// re-encodes to the same header bytes and parses back to the same header.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"3081880b0002abcd0000000100000007ff03",
		"2081880b0000002a00000010",
		"3001880b00030102fffffffec0210900",
	} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := Parse(b)
		if err != nil {
			return
		}
		if len(payload) != int(h.PayloadLen) {
			t.Fatalf("payload %d bytes, PayloadLen %d", len(payload), h.PayloadLen)
		}
		enc := AppendHeader(nil, h)
		if !bytes.Equal(enc, b[:h.Len()]) {
			t.Fatalf("re-encoded header %x, input %x", enc, b[:h.Len()])
		}
		h2, p2, err := Parse(append(enc, payload...))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if h2 != h || !bytes.Equal(p2, payload) {
			t.Fatalf("round trip %+v -> %+v", h, h2)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	pkt := make([]byte, MaxHeaderLen+1400)
	PutHeader(pkt, Header{PayloadLen: 1400, CallID: 1, Seq: 1, Ack: 1, HasSeq: true, HasAck: true})
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutHeader(b *testing.B) {
	buf := make([]byte, MaxHeaderLen)
	h := Header{PayloadLen: 1400, CallID: 1, Seq: 1, Ack: 1, HasSeq: true, HasAck: true}
	b.ReportAllocs()
	for b.Loop() {
		h.Seq++
		if _, err := PutHeader(buf, h); err != nil {
			b.Fatal(err)
		}
	}
}
