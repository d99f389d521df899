package mschap

import (
	"bytes"
	"testing"
)

func TestFailureMessage(t *testing.T) {
	challenge := arr16(t, rfc2759AuthChallenge)
	tests := []struct {
		code  int
		retry bool
		text  string
		want  string
	}{
		{691, false, "Authentication failed", "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failed"},
		{649, true, "", "E=649 R=1 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M="},
	}
	for _, tt := range tests {
		if got := FailureMessage(tt.code, challenge, tt.retry, tt.text); got != tt.want {
			t.Errorf("FailureMessage(%d, %v, %q) = %q, want %q", tt.code, tt.retry, tt.text, got, tt.want)
		}
	}
}

func TestParseFailure(t *testing.T) {
	c16 := unhex(t, rfc2759AuthChallenge)
	tests := []struct {
		in      string
		want    Failure
		wantErr string
	}{
		{in: "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failed",
			want: Failure{Code: 691, Challenge: c16, Version: 3, Message: "Authentication failed"}},
		{in: "E=691 R=1 c=00 C=5b5d7c7d7b3f2f3e3c2c602132262628 V=3",
			want: Failure{Code: 691, Retry: true, Challenge: c16, Version: 3}},
		// MS-CHAPv1 (RFC 2433 §3): 8-octet challenge, no M=.
		{in: "E=691 R=1 C=102DB5DF085D3041 V=2",
			want: Failure{Code: 691, Retry: true, Challenge: unhex(t, "102DB5DF085D3041"), Version: 2}},
		{in: "E=648 R=0 V=3 M=E=1 R=1 spaces  kept", want: Failure{Code: 648, Version: 3, Message: "E=1 R=1 spaces  kept"}},
		{in: "E=691", want: Failure{Code: 691}},
		{in: "", wantErr: "no E= field"},
		{in: "R=0 M=x", wantErr: "no E= field"},
		{in: "E=69x", wantErr: "E=\"69x\": not a decimal number"},
		{in: "E=12345678901", wantErr: "want 1 to 10 digits"},
		{in: "E=691 R=2", wantErr: "not 0 or 1"},
		{in: "E=691 E=691", wantErr: "duplicate E="},
		{in: "E=691 C=5B5D", wantErr: "length 4"},
		{in: "E=691 C=5B5D7C7D7B3F2F3Z", wantErr: "invalid byte"},
		{in: "E=691 garbage", wantErr: "bad field"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFailure(tt.in)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if !failureEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func failureEqual(a, b Failure) bool {
	return a.Code == b.Code && a.Retry == b.Retry && bytes.Equal(a.Challenge, b.Challenge) &&
		(a.Challenge == nil) == (b.Challenge == nil) && a.Version == b.Version && a.Message == b.Message
}

// FuzzParseFailure: the parser never panics, and parse -> String -> parse
// gives back the same message.
func FuzzParseFailure(f *testing.F) {
	f.Add(FailureMessage(691, arr16(f, rfc2759AuthChallenge), false, "Authentication failed"))
	f.Add("E=691 R=1 C=102DB5DF085D3041 V=2")
	f.Add("E=648 R=0 V=3 M=password expired")
	f.Add("E=1 X=y  M=")
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := ParseFailure(s)
		if err != nil {
			return
		}
		out := fl.String()
		fl2, err := ParseFailure(out)
		if err != nil {
			t.Fatalf("ParseFailure(%q) (from %q): %v", out, s, err)
		}
		if !failureEqual(fl, fl2) {
			t.Fatalf("round trip of %q via %q: %+v != %+v", s, out, fl2, fl)
		}
	})
}
