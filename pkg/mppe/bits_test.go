package mppe

import (
	"bytes"
	"testing"
)

func TestBits(t *testing.T) {
	tests := []struct {
		wire      string
		want      Bits
		str       string
		strongest int
	}{
		{"01000040", BitH | BitS, "<mppe +H -M +S -L -D -C>", 128},
		{"000000E0", BitM | BitS | BitL, "<mppe -H +M +S +L -D -C>", 128},
		{"000000A0", BitM | BitL, "<mppe -H +M -S +L -D -C>", 56},
		{"01000020", BitH | BitL, "<mppe +H -M -S +L -D -C>", 40},
		{"00000001", BitC, "<mppe -H -M -S -L -D +C>", 0},
		{"00000010", BitD, "<mppe -H -M -S -L +D -C>", 0},
		{"00000000", 0, "<mppe -H -M -S -L -D -C>", 0},
		{"81000040", 0x80000000 | BitH | BitS, "<mppe +H -M +S -L -D -C +U>", 128},
	}
	for _, tt := range tests {
		got, err := ParseBits(unhex(t, tt.wire))
		if err != nil {
			t.Fatalf("%s: %v", tt.wire, err)
		}
		if got != tt.want {
			t.Errorf("ParseBits(%s) = %#x, want %#x", tt.wire, uint32(got), uint32(tt.want))
		}
		if s := got.String(); s != tt.str {
			t.Errorf("%s: String = %q, want %q", tt.wire, s, tt.str)
		}
		if n := got.Strongest(); n != tt.strongest {
			t.Errorf("%s: Strongest = %d, want %d", tt.wire, n, tt.strongest)
		}
		if out := got.Append(nil); !bytes.Equal(out, unhex(t, tt.wire)) {
			t.Errorf("Append = %X, want %s", out, tt.wire)
		}
	}
	for _, n := range []int{3, 5, 0} {
		if _, err := ParseBits(make([]byte, n)); err == nil {
			t.Errorf("ParseBits(%d octets): no error", n)
		}
	}
	for bits, want := range map[int]Bits{128: BitS, 56: BitM, 40: BitL, 64: 0} {
		if got := StrengthBit(bits); got != want {
			t.Errorf("StrengthBit(%d) = %#x, want %#x", bits, uint32(got), uint32(want))
		}
	}
}

func FuzzParseBits(f *testing.F) {
	f.Add([]byte{0x01, 0, 0, 0x40})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseBits(b)
		if err != nil {
			return
		}
		out := v.Append(nil)
		if !bytes.Equal(out, b) {
			t.Fatalf("Append(ParseBits(%X)) = %X", b, out)
		}
		v2, err := ParseBits(out)
		if err != nil || v2 != v {
			t.Fatalf("round trip %#x -> %#x, %v", uint32(v), uint32(v2), err)
		}
		_ = v.String()
	})
}
