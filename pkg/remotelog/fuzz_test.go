package remotelog

import (
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse: Parse never panics, and what it accepts it accepts again
// after a Format round trip.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<30>1 2026-12-03T03:05:06.789000Z box boxd 42 - [boxd@32473 user="alice" q="a\"b\]c"] session up`))
	f.Add([]byte(`<13>1 - - - - - [other@1 a="b"][boxd@32473 x="y"]`))
	f.Add([]byte(`<0>1 - - - - - -`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out := Format(nil, m.Header, m.Timestamp, slog.LevelInfo, m.Text, m.Params)
		if _, err := Parse(out); err != nil {
			t.Fatalf("%q -> %q: %v", b, out, err)
		}
	})
}

// FuzzFormatRoundTrip: whatever the message and attributes, Format writes
// a message Parse reads back with the same (sanitised) values.
func FuzzFormatRoundTrip(f *testing.F) {
	f.Add("session up", "user", "alice", "host", 6)
	f.Add("", `a"b=c]`, `q"\]`, "", -4)
	f.Add("\xff\xfe", "k", "\x00\n", "h h", 8)
	f.Fuzz(func(t *testing.T, msg, key, val, host string, level int) {
		h := Header{Hostname: host, AppName: "boxd", ProcID: "1"}
		ts := time.Unix(1_800_000_000, 123456000)
		b := Format(nil, h, ts, slog.Level(level), msg, []Param{{key, val}})
		if len(b) > MaxMessage {
			t.Fatalf("%d bytes", len(b))
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if !m.Timestamp.Equal(ts) || m.Priority != 24+Severity(slog.Level(level)) {
			t.Fatalf("header %+v", m)
		}
		wantVal := cutUTF8(strings.ToValidUTF8(val, "\uFFFD"), maxValue)
		if len(m.Params) != 1 || m.Params[0].Name != SDName(key) || m.Params[0].Value != wantVal {
			t.Fatalf("params %+v, want %q=%q", m.Params, SDName(key), wantVal)
		}
		// A leading U+FEFF reads as RFC 5424's BOM and is dropped.
		wantMsg := strings.TrimPrefix(strings.ToValidUTF8(msg, "\uFFFD"), "\uFEFF")
		if !strings.HasPrefix(wantMsg, m.Text) || !utf8.ValidString(m.Text) {
			t.Fatalf("text %q, want a prefix of %q", m.Text, wantMsg)
		}
		if len(b) < MaxMessage-4 && m.Text != wantMsg {
			t.Fatalf("text %q cut though the message was short, want %q", m.Text, wantMsg)
		}
	})
}
