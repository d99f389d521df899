package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// FuzzServeConn feeds the request reader of NewHandler(fakeAPI) arbitrary
// bytes: every request line gets exactly one end line, in order, events
// come only before the end line of a streaming command, a line that is not
// a request, a newer version or an unknown command is bad_request, and a
// request is answered ok exactly when it reached the API, with the
// arguments it carried.
func FuzzServeConn(f *testing.F) {
	for _, s := range serveConnSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(fuzzServeConn)
}

// serveConnSeeds are the sessions of testdata/fuzz/FuzzServeConn.
func serveConnSeeds() []string {
	return []string{
		`{"v":2,"cmd":"session","body":{"sel":"alice"}}` + "\n",
		`{"cmd":"sessions"}` + "\n" + `{"cmd":"disconnect","args":["alice"]}` + "\r\n",
		`{"v":2,"cmd":"trace","body":{"user":"alice"}}` + "\n" + `{"v":2,"cmd":"kick","body":{"sel":"#7"}}` + "\n",
		`{"v":3,"cmd":"ping"}` + "\n" + `{"v":-1,"cmd":"ping"}`,
		"not json\n\n{}\n",
		`{"cmd":"config.set","body":{"key":"pptp.mppe","value":"\u00e9\ud800"},"cmd":"config.set"}` + "\n" + `[1,2]` + "\n",
		`{"v":2,"cmd":"probe","body":{"kind":"ping","target":"192.0.2.1","count":3}}` + "\n" + `{"v":2,"cmd":"log","body":{"n":-4}}`,
		`{"v":2,"cmd":"config.commit","body":{"confirm_within_ns":60000000000}}` + "\n" + `{"cmd":"config.show","body":{"which":"candidate"}}`,
	}
}

// fuzzMethods maps the commands to the fake's method names and says which stream.
var fuzzMethods = map[string]struct {
	method string
	stream bool
}{
	"ping": {"Ping", false}, "sessions": {"Sessions", false}, "session": {"Session", false}, "kick": {"Kick", false},
	"stats": {"Stats", false}, "radius": {"Radius", false}, "nat": {"NAT", false}, "leases": {"Leases", false}, "dialouts": {"DialOuts", false},
	"interfaces": {"Interfaces", false}, "routes": {"Routes", false}, "system": {"System", false}, "log": {"Log", false},
	"log.previous": {"LogPrevious", false},
	"log.follow":   {"FollowLog", true}, "trace": {"Trace", true}, "probe": {"Probe", true}, "users": {"Users", false},
	"user.add": {"UserAdd", false}, "user.delete": {"UserDelete", false}, "user.passwd": {"UserPasswd", false},
	"config.show": {"ConfigShow", false}, "config.check": {"ConfigCheck", false}, "config.diff": {"ConfigDiff", false},
	"config.set": {"ConfigSet", false}, "config.load": {"ConfigLoad", false}, "config.discard": {"ConfigDiscard", false},
	"config.commit": {"ConfigCommit", false}, "config.confirm": {"ConfigConfirm", false},
	"config.rollback": {"ConfigRollback", false}, "reload": {"Reload", false},
}

func fuzzServeConn(t *testing.T, in []byte) {
	api := &fakeAPI{}
	c := &scriptConn{r: bytes.NewReader(in)}
	serveConn(context.Background(), c, NewHandler(api), nil)

	// The lines serveConn should have answered: bufio's line split,
	// stopping at the first line longer than maxLine (answered too).
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(in))
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		lines = append(lines, slices.Clone(sc.Bytes()))
	}
	tooLong := sc.Err() != nil
	dec := json.NewDecoder(&c.w)
	calls := api.calls
	for i, line := range lines {
		var req Request
		reqErr := json.Unmarshal(line, &req)
		m, known := fuzzMethods[req.Cmd]
		var resp Response
		for {
			if err := dec.Decode(&resp); err != nil {
				t.Fatalf("response %d to %q: %v", i, line, err)
			}
			if resp.Event == nil {
				break
			}
			if reqErr != nil || !m.stream {
				t.Fatalf("an event in the answer to %q", line)
			}
			resp = Response{}
		}
		if !resp.OK && resp.Error == nil {
			t.Fatalf("%q answered neither ok nor an error: %+v", line, resp)
		}
		if reqErr != nil || req.V > APIVersion || !known {
			if resp.OK || resp.Error.Code != CodeBadRequest {
				t.Fatalf("%q (%v) answered %+v, want bad_request", line, reqErr, resp)
			}
			continue
		}
		if !resp.OK {
			if resp.Error.Code != CodeBadRequest {
				t.Fatalf("%q answered %+v: the fake fails nothing", line, resp.Error)
			}
			continue
		}
		if len(calls) == 0 || calls[0].Method != m.method {
			t.Fatalf("%q answered ok without a call of %s (calls left %v)", line, m.method, calls)
		}
		checkArgs(t, line, req, calls[0])
		calls = calls[1:]
	}
	if tooLong {
		var resp Response
		if err := dec.Decode(&resp); err != nil || resp.Error == nil || resp.Error.Code != CodeBadRequest {
			t.Fatalf("line over maxLine answered %+v (%v)", resp, err)
		}
	}
	if dec.More() {
		t.Fatalf("more responses than the %d request lines", len(lines))
	}
	if len(calls) > 0 {
		t.Fatalf("API calls no ok reply accounts for: %v", calls)
	}
}

// checkArgs compares what the API got with the request's body decoded on
// its own, for the commands whose arguments are strings.
func checkArgs(t *testing.T, line []byte, req Request, c apiCall) {
	t.Helper()
	var want []any
	switch req.Cmd {
	case "session", "kick":
		var a SelArgs
		json.Unmarshal(req.Body, &a)
		want = []any{a.Sel}
	case "config.set":
		var a SetArgs
		json.Unmarshal(req.Body, &a)
		want = []any{a.Key, a.Value}
	case "user.passwd":
		var a PasswdArgs
		json.Unmarshal(req.Body, &a)
		want = []any{a.Name, a.Password}
	default:
		return
	}
	if !slices.Equal(c.Args, want) {
		t.Fatalf("%q: the API got %v, want %v", line, c.Args, want)
	}
}
