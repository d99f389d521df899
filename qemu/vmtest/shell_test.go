package vmtest

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func feedAll(t testing.TB, p *replyParser, text string) (bool, error) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		done, err := p.feed(line)
		if err != nil || done {
			return done, err
		}
	}
	return false, nil
}

func TestReplyParser(t *testing.T) {
	tests := []struct {
		name    string
		id      uint64
		in      string
		done    bool
		wantErr string
		out     string
		status  int
	}{
		{"simple", 3, "@@B 3\n" + base64.StdEncoding.EncodeToString([]byte("ok\n")) + "\n@@E 3 0\n", true, "", "ok\n", 0},
		{"empty output", 1, "@@B 1\n@@E 1 7\n", true, "", "", 7},
		{"crlf", 1, "@@B 1\r\naGk=\r\n@@E 1 0\r\n", true, "", "hi", 0},
		{"skips stale frame and noise", 5, "@@R\nkernel noise\n@@B 4\naGk=\n@@E 4 0\n@@B 5\nYQ==\n@@E 5 1\n", true, "", "a", 1},
		{"incomplete", 2, "@@B 2\naGk=\n", false, "", "", 0},
		{"end without begin", 2, "@@E 2 0\n", false, "end without begin", "", 0},
		{"bad status", 2, "@@B 2\n@@E 2 x\n", false, "bad exit status", "", 0},
		{"status out of range", 2, "@@B 2\n@@E 2 256\n", false, "bad exit status", "", 0},
		{"extra fields", 2, "@@B 2\n@@E 2 0 9\n", false, "bad end line", "", 0},
		{"bad base64", 2, "@@B 2\n!!!\n@@E 2 0\n", false, "output", "", 0},
		{"restart inside", 2, "@@B 2\naGk=\n@@R\n", false, "interrupted", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newReplyParser(tc.id)
			done, err := feedAll(t, p, tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if done != tc.done {
				t.Fatalf("done = %v, want %v", done, tc.done)
			}
			if done && (string(p.Output) != tc.out || p.Status != tc.status) {
				t.Fatalf("got %q/%d, want %q/%d", p.Output, p.Status, tc.out, tc.status)
			}
		})
	}
}

func TestEncodeCommand(t *testing.T) {
	script := "echo 'a b'\nexit 3"
	b64 := base64.StdEncoding.EncodeToString([]byte(script))
	tests := []struct {
		timeout int
		want    string
	}{
		{0, "@@C 12 " + b64 + "\n"},
		{-1, "@@C 12 " + b64 + "\n"},
		{30, "@@C 12 " + b64 + " 30\n"},
	}
	for _, tc := range tests {
		got := string(encodeCommand(12, script, tc.timeout))
		if got != tc.want {
			t.Errorf("timeout %d: got %q, want %q", tc.timeout, got, tc.want)
		}
		if strings.Count(got, "\n") != 1 {
			t.Errorf("command frame must be one line: %q", got)
		}
	}
}

func TestReplyRoundTrip(t *testing.T) {
	for _, out := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("@@E 1 0\n"), 50), {0, 0xff, '\n', '\r'}} {
		p := newReplyParser(9)
		done, err := feedAll(t, p, string(encodeReply(9, out, 42)))
		if err != nil || !done {
			t.Fatalf("%q: done=%v err=%v", out, done, err)
		}
		if !bytes.Equal(p.Output, out) || p.Status != 42 {
			t.Fatalf("got %q/%d, want %q/42", p.Output, p.Status, out)
		}
	}
}

// FuzzReply feeds arbitrary guest output to the parser (it must not panic,
// and a completed reply has a status in 0..255), and checks the round trip
// encodeReply -> parse for arbitrary output bytes.
func FuzzReply(f *testing.F) {
	f.Add([]byte("@@B 1\naGk=\n@@E 1 0\n"), []byte("hi"), uint8(0))
	f.Add([]byte("@@B 1\n@@E 1 255\n"), []byte{}, uint8(255))
	f.Add([]byte("@@R\n@@B 1\n@@B 1\n=\n@@E 1 -1\n"), []byte("@@B 1\n"), uint8(1))
	f.Fuzz(func(t *testing.T, wire, out []byte, status uint8) {
		p := newReplyParser(1)
		done, err := feedAll(t, p, string(wire))
		if err == nil && done && (p.Status < 0 || p.Status > 255) {
			t.Fatalf("status %d out of range", p.Status)
		}
		p = newReplyParser(1)
		done, err = feedAll(t, p, string(encodeReply(1, out, int(status))))
		if err != nil || !done {
			t.Fatalf("round trip of %q: done=%v err=%v", out, done, err)
		}
		if !bytes.Equal(p.Output, out) && !(len(out) == 0 && len(p.Output) == 0) {
			t.Fatalf("round trip: got %q, want %q", p.Output, out)
		}
		if p.Status != int(status) {
			t.Fatalf("round trip: status %d, want %d", p.Status, status)
		}
	})
}
