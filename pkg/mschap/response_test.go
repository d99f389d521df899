package mschap

import (
	"bytes"
	"strings"
	"testing"
)

// checkErr fails the test unless err matches wantErr ("" for no error, else
// a substring of the message); it reports whether the caller should go on
// to check the result.
func checkErr(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("err = %v, want %q", err, wantErr)
	}
	return false
}

func TestParseResponse(t *testing.T) {
	good := Response{
		PeerChallenge: arr16(t, rfc2759PeerChallenge),
		NTResponse:    arr24(t, rfc2759NTResponse),
	}.Marshal()
	reserved := bytes.Clone(good)
	reserved[20] = 1
	flags := bytes.Clone(good)
	flags[48] = 0x04
	tests := []struct {
		name    string
		in      []byte
		wantErr string
		want    Response
	}{
		{"rfc vector", good, "", Response{PeerChallenge: arr16(t, rfc2759PeerChallenge), NTResponse: arr24(t, rfc2759NTResponse)}},
		{"flags kept", flags, "", Response{PeerChallenge: arr16(t, rfc2759PeerChallenge), NTResponse: arr24(t, rfc2759NTResponse), Flags: 4}},
		{"short", good[:48], "bad length 48", Response{}},
		{"long", append(bytes.Clone(good), 0), "bad length 50", Response{}},
		{"empty", nil, "bad length 0", Response{}},
		{"reserved set", reserved, "reserved octet 4", Response{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse(tt.in)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if out := got.Marshal(); !bytes.Equal(out, tt.in) {
				t.Errorf("Marshal = %X, want %X", out, tt.in)
			}
		})
	}
}

func TestParseResponseV1(t *testing.T) {
	nt := arr24(t, "4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61")
	good := ResponseV1{NTResponse: nt, UseNT: true}.Marshal()
	lmOnly := bytes.Clone(good)
	lmOnly[48] = 0
	badFlag := bytes.Clone(good)
	badFlag[48] = 2
	tests := []struct {
		name    string
		in      []byte
		wantErr string
		want    ResponseV1
	}{
		{"use nt", good, "", ResponseV1{NTResponse: nt, UseNT: true}},
		{"lm only", lmOnly, "", ResponseV1{NTResponse: nt}},
		{"bad flag", badFlag, "use-nt flag 0x02", ResponseV1{}},
		{"short", good[:10], "bad length 10", ResponseV1{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponseV1(tt.in)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if out := got.Append([]byte{0xAA}); !bytes.Equal(out[1:], tt.in) || out[0] != 0xAA {
				t.Errorf("Append = %X, want AA%X", out, tt.in)
			}
		})
	}
}

// FuzzParseResponse: whatever parses re-encodes to the same octets and
// parses back to the same value.
func FuzzParseResponse(f *testing.F) {
	f.Add(Response{PeerChallenge: arr16(f, rfc2759PeerChallenge), NTResponse: arr24(f, rfc2759NTResponse)}.Marshal())
	f.Add(make([]byte, ResponseLen))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			return
		}
		out := r.Marshal()
		if !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(%X)) = %X", b, out)
		}
		r2, err := ParseResponse(out)
		if err != nil || r2 != r {
			t.Fatalf("round trip: %+v, %v; want %+v", r2, err, r)
		}
	})
}

func FuzzParseResponseV1(f *testing.F) {
	f.Add(ResponseV1{UseNT: true}.Marshal())
	f.Add(make([]byte, ResponseLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponseV1(b)
		if err != nil {
			return
		}
		out := r.Marshal()
		if !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(%X)) = %X", b, out)
		}
		r2, err := ParseResponseV1(out)
		if err != nil || r2 != r {
			t.Fatalf("round trip: %+v, %v; want %+v", r2, err, r)
		}
	})
}
