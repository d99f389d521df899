package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// scriptConn is a net.Conn that reads a fixed script and records what is
// written, so serveConn runs to the end of its input without a socket.
type scriptConn struct {
	r *bytes.Reader
	w bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.UnixAddr{Net: "unix", Name: "boxd.sock"} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Net: "unix"} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// echoHandler answers "echo" with its arguments and fails everything else
// with a message naming the command, as boxd's handler does.
func echoHandler(_ context.Context, req Request) (any, error) {
	if req.Cmd == "echo" {
		return req.Args, nil
	}
	return nil, errors.New("unknown command " + req.Cmd)
}

// FuzzServeConn feeds the request reader arbitrary bytes: every request
// line gets exactly one well-formed JSON response line, in order, and a
// request that decodes is answered from what it decoded.
func FuzzServeConn(f *testing.F) {
	for _, s := range serveConnSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(fuzzServeConn)
}

// serveConnSeeds are the sessions of testdata/fuzz/FuzzServeConn.
func serveConnSeeds() []string {
	return []string{
		`{"cmd":"echo","args":["a","b"]}` + "\n",
		`{"cmd":"sessions"}` + "\n" + `{"cmd":"disconnect","args":["alice"]}` + "\r\n",
		`{"cmd":"echo","args":["\u00e9\ud800",""]}`,
		"not json\n\n{}\n",
		`{"cmd":"echo","args":null,"cmd":"x"}` + "\n" + `[1,2]` + "\n",
	}
}

func fuzzServeConn(t *testing.T, in []byte) {
	c := &scriptConn{r: bytes.NewReader(in)}
	serveConn(context.Background(), c, echoHandler, nil)

	// The lines serveConn should have answered: bufio's line split,
	// stopping at the first line longer than maxLine.
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(in))
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
	}
	dec := json.NewDecoder(&c.w)
	for i, line := range lines {
		var resp Response
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("response %d to %q: %v", i, line, err)
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			if resp.OK || resp.Error == "" {
				t.Fatalf("bad request %q answered %+v", line, resp)
			}
			continue
		}
		switch {
		case req.Cmd != "echo":
			if resp.OK || resp.Error != "unknown command "+req.Cmd {
				t.Fatalf("request %q answered %+v", line, resp)
			}
		case !resp.OK:
			t.Fatalf("echo %q failed: %+v", line, resp)
		default:
			var got []string
			if err := json.Unmarshal(resp.Data, &got); err != nil || !slices.Equal(got, req.Args) {
				t.Fatalf("echo %q answered %s (%v), want %q", line, resp.Data, err, req.Args)
			}
		}
	}
	if dec.More() {
		t.Fatalf("more responses than the %d request lines", len(lines))
	}
}
