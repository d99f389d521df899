package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI records each call (method and arguments) and answers from its
// fields; its streams send Events events and return StreamErr.
type fakeAPI struct {
	mu    sync.Mutex
	calls []apiCall

	Err       error // returned by every unary method when set
	StreamErr error
	// Hold makes Trace send one event and then wait for its context to
	// end; HeldDone is closed when it returns.
	Hold     bool
	HeldDone chan struct{}
}

type apiCall struct {
	Method string
	Args   []any
}

func (f *fakeAPI) record(method string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, apiCall{method, args})
}

func (f *fakeAPI) last() apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return apiCall{}
	}
	return f.calls[len(f.calls)-1]
}

var t0 = time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)

// The canned replies: every field that has one set, so a field the wire
// loses shows.
var (
	fakeSession = Session{User: "alice", Peer: "198.51.100.7", IP: "10.0.0.2", CallID: 7, PeerCall: 9,
		MPPE: "MPPE 128-bit stateless", Uptime: 90 * time.Second, BytesIn: 1, BytesOut: 2, PktsIn: 3, PktsOut: 4,
		PeerPort: 50123, State: "network", Auth: "mschapv2", AuthSource: "radius", AcctSessionID: "00000007"}
	fakeDetail = SessionDetail{Session: fakeSession,
		LCP:    []Option{{Dir: "local", Name: "mru", Value: "1400"}},
		CCP:    []Option{{Dir: "peer", Name: "mppe", Value: "+H -M +S -L -D -C"}},
		IPCP:   []Option{{Dir: "peer", Name: "addr", Value: "10.0.0.2"}},
		Radius: []Attribute{{Name: "Framed-IP-Address", Value: "10.0.0.2"}, {Name: "MS-MPPE-Send-Key", Value: "(masked)"}},
		Drops:  []Counter{{Name: "mppe_bad", Value: 3}}, Counters: []Counter{{Name: "lcp_echo", Value: 5}}}
	fakeStats = StatsReply{Stats: Stats{Sessions: 1, GREMalformed: 2, Control: ControlCounters{BadMagic: 3}, Limits: LimitCounters{MaxConns: 4}},
		Radius: &RadiusCounters{Requests: 5, InFlight: 1}, DHCPD: &DHCPDCounters{Leases: 2, Counters: []Counter{{"offers", 1}}}, Goroutines: 40}
	fakeRadius = RadiusReply{Enabled: true, Servers: []RadiusServer{{Address: "192.0.2.1:1812", Role: "auth", Up: true,
		LastRTT: 3 * time.Millisecond, AvgRTT: 4 * time.Millisecond, Requests: 10, Timeouts: 1, LastSeen: t0}}, Counters: &RadiusCounters{Accepts: 9}}
	fakeNAT      = NATReply{Enabled: true, Table: "inet pptpbox", Rules: []NATRule{{Chain: "postrouting", Comment: "masquerade", Counter: "masq", Packets: 5, Bytes: 600}}, Counters: []Counter{{"masq", 5}}}
	fakeDialOuts = []DialOut{{Name: "hq", Iface: "dial-hq", Server: "198.51.100.7:1723", Routes: []string{"10.20.0.0/16"}, State: "up", Since: t0,
		Local: "10.79.97.10", Peer: "10.79.97.1", Connects: 2}, {Name: "dc", Iface: "dial-dc", State: "backoff", Since: t0, Failures: 3, LastError: "connection refused", NextDial: t0}}
	fakeLeases = []Lease{{IP: "192.168.1.100", MAC: "52:54:00:12:34:56", Hostname: "pc", Expires: t0}}
	fakeIfaces = []Interface{{Name: "eth0", Role: "wan", Up: true, MTU: 1500, MAC: "52:54:00:00:00:01", Addresses: []string{"198.51.100.1/24"},
		RxBytes: 1, TxBytes: 2, RxPackets: 3, TxPackets: 4, RxDropped: 5, TxDropped: 6}}
	fakeRoutes = []Route{{Dst: "default", Gateway: "198.51.100.254", Dev: "eth0", Src: "198.51.100.1", Protocol: "dhcp", Metric: 100}}
	fakeSystem = System{Version: "v1", Board: "qemu-x86_64", Hostname: "box", Uptime: time.Hour, BoxdUptime: time.Minute, Load: [3]float64{0.5, 0.25, 0.125},
		MemTotal: 1 << 30, MemAvailable: 1 << 29, BoxdRSS: 1 << 24, Goroutines: 30, ConfigFile: "/etc/pptpbox.toml", ConfigStore: "/config/pptpbox.toml",
		ConfigSource: "usb", Pending: &Pending{RevertAt: t0}, Time: t0,
		Clock: &Clock{Synced: true, SetsClock: true, Servers: []string{"pool.ntp.org"}, Server: "pool.ntp.org", Stratum: 2,
			Offset: -3 * time.Millisecond, Action: "slewed", Steps: 1, LastSync: t0, NextPoll: t0.Add(time.Minute)},
		Syslog: &Syslog{Server: "192.0.2.9:514", Sent: 10, Dropped: 1, LastError: "connection refused"}}
	fakePrevious = PreviousLog{File: "/config/log/previous.log", Saved: t0, Lines: []string{"boxd: level=INFO msg=\"pptp server ready\"", "pptpbox: reboot"}}
	fakeLog      = []LogLine{{Time: t0, Level: "INFO", Text: `level=INFO msg="pptp server ready"`}}
	fakeTrace    = []TraceEvent{{Time: t0, CallID: 7, User: "alice", Peer: "198.51.100.7", Layer: "lcp", Dir: "rcvd", Text: "[LCP ConfReq id=0x1 <mru 1400>]"}, {Time: t0, Layer: "session", Text: "up"}}
	fakeProbe    = []ProbeLine{{Text: "64 bytes from 192.0.2.1"}, {Text: "1 packets transmitted", Done: true}}
	fakeUsers    = []User{{Name: "alice"}, {Name: "bob", IP: "10.0.0.9"}}
	fakeText     = ConfigText{Which: Candidate, Path: "/config/pptpbox.toml", Text: "[pptp]\nmppe = \"require-128\"\n"}
	fakeCheck    = CheckResult{OK: false, Errors: []string{"pptpbox.toml:3: pptp.mppe: bad value"}}
	fakeCommit   = CommitResult{Path: "/config/pptpbox.toml", Changed: true, Applied: []string{"users"}, Restart: []string{"lan"},
		Ended: []Session{fakeSession}, RevertAt: t0, Confirmed: true}
	fakeReload = ReloadResult{Config: "/etc/pptpbox.toml", Applied: []string{"radius"}, Restart: []string{"wan"}}
)

func (f *fakeAPI) Ping(ctx context.Context) (Pong, error) {
	f.record("Ping")
	return Pong{Version: "v1", APIVersion: APIVersion, Time: t0}, f.Err
}
func (f *fakeAPI) Sessions(ctx context.Context) ([]Session, error) {
	f.record("Sessions")
	return []Session{fakeSession}, f.Err
}
func (f *fakeAPI) Session(ctx context.Context, sel string) (SessionDetail, error) {
	f.record("Session", sel)
	return fakeDetail, f.Err
}
func (f *fakeAPI) Kick(ctx context.Context, sel string) ([]Session, error) {
	f.record("Kick", sel)
	return []Session{fakeSession}, f.Err
}
func (f *fakeAPI) Stats(ctx context.Context) (StatsReply, error) {
	f.record("Stats")
	return fakeStats, f.Err
}
func (f *fakeAPI) Radius(ctx context.Context) (RadiusReply, error) {
	f.record("Radius")
	return fakeRadius, f.Err
}
func (f *fakeAPI) NAT(ctx context.Context) (NATReply, error) { f.record("NAT"); return fakeNAT, f.Err }
func (f *fakeAPI) Leases(ctx context.Context) ([]Lease, error) {
	f.record("Leases")
	return fakeLeases, f.Err
}
func (f *fakeAPI) DialOuts(ctx context.Context) ([]DialOut, error) {
	f.record("DialOuts")
	return fakeDialOuts, f.Err
}
func (f *fakeAPI) Interfaces(ctx context.Context) ([]Interface, error) {
	f.record("Interfaces")
	return fakeIfaces, f.Err
}
func (f *fakeAPI) Routes(ctx context.Context) ([]Route, error) {
	f.record("Routes")
	return fakeRoutes, f.Err
}
func (f *fakeAPI) System(ctx context.Context) (System, error) {
	f.record("System")
	return fakeSystem, f.Err
}
func (f *fakeAPI) Log(ctx context.Context, n int) ([]LogLine, error) {
	f.record("Log", n)
	return fakeLog, f.Err
}
func (f *fakeAPI) LogPrevious(ctx context.Context) (PreviousLog, error) {
	f.record("LogPrevious")
	return fakePrevious, f.Err
}
func (f *fakeAPI) FollowLog(ctx context.Context, minLevel string, fn func(LogLine) error) error {
	f.record("FollowLog", minLevel)
	return sendAll(fakeLog, fn, f.StreamErr)
}
func (f *fakeAPI) Trace(ctx context.Context, tf TraceFilter, fn func(TraceEvent) error) error {
	f.record("Trace", tf)
	if f.Hold {
		defer close(f.HeldDone)
		if err := fn(fakeTrace[0]); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}
	return sendAll(fakeTrace, fn, f.StreamErr)
}
func (f *fakeAPI) Probe(ctx context.Context, r ProbeRequest, fn func(ProbeLine) error) error {
	f.record("Probe", r)
	return sendAll(fakeProbe, fn, f.StreamErr)
}
func (f *fakeAPI) Users(ctx context.Context) ([]User, error) {
	f.record("Users")
	return fakeUsers, f.Err
}
func (f *fakeAPI) UserAdd(ctx context.Context, u UserSpec) error {
	f.record("UserAdd", u)
	return f.Err
}
func (f *fakeAPI) UserDelete(ctx context.Context, name string) error {
	f.record("UserDelete", name)
	return f.Err
}
func (f *fakeAPI) UserPasswd(ctx context.Context, name, password string) error {
	f.record("UserPasswd", name, password)
	return f.Err
}
func (f *fakeAPI) ConfigShow(ctx context.Context, which ConfigWhich) (ConfigText, error) {
	f.record("ConfigShow", which)
	return fakeText, f.Err
}
func (f *fakeAPI) ConfigCheck(ctx context.Context) (CheckResult, error) {
	f.record("ConfigCheck")
	return fakeCheck, f.Err
}
func (f *fakeAPI) ConfigDiff(ctx context.Context) (string, error) {
	f.record("ConfigDiff")
	return "--- running\n+++ candidate\n", f.Err
}
func (f *fakeAPI) ConfigSet(ctx context.Context, key, value string) error {
	f.record("ConfigSet", key, value)
	return f.Err
}
func (f *fakeAPI) ConfigLoad(ctx context.Context, text string) (CheckResult, error) {
	f.record("ConfigLoad", text)
	return fakeCheck, f.Err
}
func (f *fakeAPI) ConfigDiscard(ctx context.Context) error { f.record("ConfigDiscard"); return f.Err }
func (f *fakeAPI) ConfigCommit(ctx context.Context, r CommitRequest) (CommitResult, error) {
	f.record("ConfigCommit", r)
	return fakeCommit, f.Err
}
func (f *fakeAPI) ConfigConfirm(ctx context.Context) (CommitResult, error) {
	f.record("ConfigConfirm")
	return fakeCommit, f.Err
}
func (f *fakeAPI) ConfigRollback(ctx context.Context) (CommitResult, error) {
	f.record("ConfigRollback")
	return fakeCommit, f.Err
}
func (f *fakeAPI) Reload(ctx context.Context) (ReloadResult, error) {
	f.record("Reload")
	return fakeReload, f.Err
}

func sendAll[E any](events []E, fn func(E) error, end error) error {
	for _, e := range events {
		if err := fn(e); err != nil {
			return err
		}
	}
	return end
}

// serve runs NewHandler(api) on a socket in a temp dir until the test
// ends, and returns a Client of it once it answers.
func serve(t *testing.T, api API) *Client {
	t.Helper()
	return serveHandler(t, NewHandler(api))
}

// serveHandler runs Serve with h until the test ends.
func serveHandler(t *testing.T, h Handler) *Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "boxd.sock")
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, h, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	waitListening(t, path)
	return NewClient(path)
}

// waitListening waits until something accepts on path (Serve listens in
// its own goroutine).
func waitListening(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func collect[E any](out *[]E) func(E) error {
	return func(e E) error { *out = append(*out, e); return nil }
}

// TestEveryMethodRoundTrips calls every method of the API through Client,
// the socket and NewHandler: the fake sees the arguments sent and the
// client gets the reply the fake gave, field for field.
func TestEveryMethodRoundTrips(t *testing.T) {
	f := &fakeAPI{}
	c := serve(t, f)
	ctx := context.Background()
	var logs []LogLine
	var trace []TraceEvent
	var probe []ProbeLine
	cases := []struct {
		method string
		args   []any
		run    func() (any, error)
		want   any
	}{
		{"Ping", nil, func() (any, error) { return c.Ping(ctx) }, Pong{Version: "v1", APIVersion: APIVersion, Time: t0}},
		{"Sessions", nil, func() (any, error) { return c.Sessions(ctx) }, []Session{fakeSession}},
		{"Session", []any{"#7"}, func() (any, error) { return c.Session(ctx, "#7") }, fakeDetail},
		{"Kick", []any{"alice"}, func() (any, error) { return c.Kick(ctx, "alice") }, []Session{fakeSession}},
		{"Stats", nil, func() (any, error) { return c.Stats(ctx) }, fakeStats},
		{"Radius", nil, func() (any, error) { return c.Radius(ctx) }, fakeRadius},
		{"NAT", nil, func() (any, error) { return c.NAT(ctx) }, fakeNAT},
		{"Leases", nil, func() (any, error) { return c.Leases(ctx) }, fakeLeases},
		{"DialOuts", nil, func() (any, error) { return c.DialOuts(ctx) }, fakeDialOuts},
		{"Interfaces", nil, func() (any, error) { return c.Interfaces(ctx) }, fakeIfaces},
		{"Routes", nil, func() (any, error) { return c.Routes(ctx) }, fakeRoutes},
		{"System", nil, func() (any, error) { return c.System(ctx) }, fakeSystem},
		{"Log", []any{25}, func() (any, error) { return c.Log(ctx, 25) }, fakeLog},
		{"LogPrevious", nil, func() (any, error) { return c.LogPrevious(ctx) }, fakePrevious},
		{"FollowLog", []any{"warn"}, func() (any, error) { return logs, c.FollowLog(ctx, "warn", collect(&logs)) }, fakeLog},
		{"Trace", []any{TraceFilter{Peer: "198.51.100.7"}}, func() (any, error) {
			return trace, c.Trace(ctx, TraceFilter{Peer: "198.51.100.7"}, collect(&trace))
		}, fakeTrace},
		{"Probe", []any{ProbeRequest{Kind: "ping", Target: "192.0.2.1", Count: 1, Source: "10.0.0.1"}}, func() (any, error) {
			return probe, c.Probe(ctx, ProbeRequest{Kind: "ping", Target: "192.0.2.1", Count: 1, Source: "10.0.0.1"}, collect(&probe))
		}, fakeProbe},
		{"Users", nil, func() (any, error) { return c.Users(ctx) }, fakeUsers},
		{"UserAdd", []any{UserSpec{Name: "carol", Password: "p w\"d", IP: "10.0.0.5"}}, func() (any, error) {
			return nil, c.UserAdd(ctx, UserSpec{Name: "carol", Password: "p w\"d", IP: "10.0.0.5"})
		}, nil},
		{"UserDelete", []any{"bob"}, func() (any, error) { return nil, c.UserDelete(ctx, "bob") }, nil},
		{"UserPasswd", []any{"bob", "s3cret"}, func() (any, error) { return nil, c.UserPasswd(ctx, "bob", "s3cret") }, nil},
		{"ConfigShow", []any{Candidate}, func() (any, error) { return c.ConfigShow(ctx, Candidate) }, fakeText},
		{"ConfigCheck", nil, func() (any, error) { return c.ConfigCheck(ctx) }, fakeCheck},
		{"ConfigDiff", nil, func() (any, error) { return c.ConfigDiff(ctx) }, "--- running\n+++ candidate\n"},
		{"ConfigSet", []any{"pptp.mppe", "require-128"}, func() (any, error) { return nil, c.ConfigSet(ctx, "pptp.mppe", "require-128") }, nil},
		{"ConfigLoad", []any{"[pptp]\n"}, func() (any, error) { return c.ConfigLoad(ctx, "[pptp]\n") }, fakeCheck},
		{"ConfigDiscard", nil, func() (any, error) { return nil, c.ConfigDiscard(ctx) }, nil},
		{"ConfigCommit", []any{CommitRequest{ConfirmWithin: 2 * time.Minute, Comment: "users"}}, func() (any, error) {
			return c.ConfigCommit(ctx, CommitRequest{ConfirmWithin: 2 * time.Minute, Comment: "users"})
		}, fakeCommit},
		{"ConfigConfirm", nil, func() (any, error) { return c.ConfigConfirm(ctx) }, fakeCommit},
		{"ConfigRollback", nil, func() (any, error) { return c.ConfigRollback(ctx) }, fakeCommit},
		{"Reload", nil, func() (any, error) { return c.Reload(ctx) }, fakeReload},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		got, err := tc.run()
		if err != nil {
			t.Errorf("%s: %v", tc.method, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got\n%+v\nwant\n%+v", tc.method, got, tc.want)
		}
		if l := f.last(); l.Method != tc.method || !reflect.DeepEqual(l.Args, tc.args) {
			t.Errorf("%s: the API saw %s%v, want %v", tc.method, l.Method, l.Args, tc.args)
		}
		seen[tc.method] = true
	}
	api := reflect.TypeFor[API]()
	for i := range api.NumMethod() {
		if m := api.Method(i).Name; !seen[m] {
			t.Errorf("API method %s has no round-trip case", m)
		}
	}
}

// TestTypedErrorsCrossTheWire: an *Error keeps its code and details; any
// other error arrives as CodeInternal with its message; a stream's error
// ends it after its events.
func TestTypedErrorsCrossTheWire(t *testing.T) {
	refused := &Error{Code: CodeRefused, Message: "config does not validate",
		Details: []string{"pptpbox.toml:3: pptp.mppe: bad value \"x\"", "pptpbox.toml:9: radius.timeout: not a duration"}}
	f := &fakeAPI{Err: refused}
	c := serve(t, f)
	ctx := context.Background()
	_, err := c.Reload(ctx)
	var e *Error
	if !errors.As(err, &e) || !reflect.DeepEqual(e, refused) {
		t.Fatalf("Reload: %#v, want %#v", err, refused)
	}
	f.Err = errors.New("disk full")
	err = c.ConfigSet(ctx, "a.b", "1")
	if !errors.As(err, &e) || e.Code != CodeInternal || e.Message != "disk full" {
		t.Fatalf("ConfigSet: %#v, want internal \"disk full\"", err)
	}
	f.StreamErr = Errorf(CodeNotFound, "no such host")
	var got []ProbeLine
	err = c.Probe(ctx, ProbeRequest{Kind: "ping", Target: "nowhere"}, collect(&got))
	if CodeOf(err) != CodeNotFound || len(got) != len(fakeProbe) {
		t.Fatalf("Probe: %v after %d lines, want not_found after %d", err, len(got), len(fakeProbe))
	}
}

// rawExchange writes lines to the socket and reads one reply line each.
func rawExchange(t *testing.T, path string, lines ...string) []Response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	sc := bufio.NewScanner(conn)
	sc.Buffer(nil, 1<<20)
	var out []Response
	for _, l := range lines {
		if _, err := conn.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
		if !sc.Scan() {
			t.Fatalf("no reply to %q: %v", l, sc.Err())
		}
		var r Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("reply to %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// TestBadRequests: malformed lines, unknown commands, bad bodies and a
// newer API version are each answered with bad_request, and the
// connection goes on serving.
func TestBadRequests(t *testing.T) {
	f := &fakeAPI{}
	c := serve(t, f)
	bad := []string{
		`not json`,
		``,
		`{"v":2,"cmd":"nope"}`,
		`{"v":2,"cmd":"session","body":["alice"]}`,
		`{"v":2,"cmd":"log","body":{"n":-1}}`,
		`{"v":2,"cmd":"config.show","body":{"which":"other"}}`,
		`{"v":2,"cmd":"config.set","body":{"value":"x"}}`,
		`{"v":` + "3" + `,"cmd":"ping"}`,
		`{"v":2,"cmd":"trace","body":{}}`,
		`{"v":2,"cmd":"probe","body":{"kind":"nmap","target":"x"}}`,
	}
	resps := rawExchange(t, c.Socket, append(bad, `{"cmd":"ping"}`, `{"v":1,"cmd":"sessions"}`)...)
	for i, l := range bad {
		if r := resps[i]; r.OK || r.Error == nil || r.Error.Code != CodeBadRequest {
			t.Errorf("%q answered %+v (%v), want bad_request", l, r, r.Error)
		}
	}
	if r := resps[7]; !strings.Contains(r.Error.Message, "version 3") {
		t.Errorf("version refusal does not name the version: %q", r.Error.Message)
	}
	for _, r := range resps[len(bad):] {
		if !r.OK {
			t.Errorf("a request of this or an older version (or none) refused: %+v", r.Error)
		}
	}
	if n := len(f.calls); n != 2 {
		t.Errorf("the API was called %d times, want 2 (only the good requests): %v", n, f.calls)
	}
}

// TestStreamEndsOnTheClientsSide: the client's ctx ending after the first
// event, or its callback failing, ends its Trace (its connection closes)
// and the server's Trace call, which sees its context end and returns.
func TestStreamEndsOnTheClientsSide(t *testing.T) {
	stop := errors.New("enough")
	for _, tc := range []struct {
		name string
		fn   func(cancel context.CancelFunc) error
		want error
	}{
		{"ctx cancelled", func(cancel context.CancelFunc) error { cancel(); return nil }, context.Canceled},
		{"callback fails", func(context.CancelFunc) error { return stop }, stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{Hold: true, HeldDone: make(chan struct{})}
			c := serve(t, f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events := 0
			err := c.Trace(ctx, TraceFilter{User: "alice"}, func(TraceEvent) error {
				events++
				return tc.fn(cancel)
			})
			if !errors.Is(err, tc.want) || events != 1 {
				t.Fatalf("Trace: %v after %d events, want %v after 1", err, events, tc.want)
			}
			select {
			case <-f.HeldDone:
			case <-time.After(10 * time.Second):
				t.Fatal("the server's Trace call did not end after the client went away")
			}
		})
	}
}

// TestServeEndsStreams: Serve returns when its ctx ends, even with a
// stream open (it waits for every connection's goroutine).
func TestServeEndsStreams(t *testing.T) {
	f := &fakeAPI{Hold: true, HeldDone: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "boxd.sock")
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, path, NewHandler(f), nil) }()
	waitListening(t, path)
	first := make(chan struct{})
	traced := make(chan error, 1)
	go func() {
		traced <- NewClient(path).Trace(context.Background(), TraceFilter{User: "a"}, func(TraceEvent) error {
			close(first)
			return nil
		})
	}()
	<-first
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	<-f.HeldDone
	if err := <-traced; err == nil {
		t.Fatal("the client's Trace ended without an error when boxd went away")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestNotRunning: no socket, or a socket nobody listens on, is ErrNotRunning.
func TestNotRunning(t *testing.T) {
	dir := t.TempDir()
	_, err := NewClient(filepath.Join(dir, "none.sock")).Ping(context.Background())
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("no socket: %v", err)
	}
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := NewClient(stale).Sessions(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("stale socket: %v", err)
	}
}

// TestLongLine: a request line over maxLine is answered with bad_request
// and the connection closed.
func TestLongLine(t *testing.T) {
	c := serve(t, &fakeAPI{})
	resps := rawExchange(t, c.Socket, `{"cmd":"ping","args":["`+strings.Repeat("x", maxLine)+`"]}`)
	if r := resps[0]; r.Error == nil || r.Error.Code != CodeBadRequest {
		t.Fatalf("long line answered %+v", r)
	}
}

// TestCommandNames: the unknown-command error lists the commands, the
// same set the client sends.
func TestCommandNames(t *testing.T) {
	names := strings.Split(commandNames(endpoints(&fakeAPI{})), ", ")
	if len(names) != reflect.TypeFor[API]().NumMethod() || !slices.IsSorted(names) {
		t.Fatalf("%d commands for %d API methods: %v", len(names), reflect.TypeFor[API]().NumMethod(), names)
	}
}

// panicky is an API whose Sessions and Trace panic.
type panicky struct{ fakeAPI }

func (*panicky) Sessions(context.Context) ([]Session, error) { panic("index out of range") }
func (*panicky) Trace(context.Context, TraceFilter, func(TraceEvent) error) error {
	panic("nil map")
}

// TestPanicIsInternal: a method that panics answers internal, and the
// server (and the connection) go on.
func TestPanicIsInternal(t *testing.T) {
	c := serve(t, &panicky{})
	if _, err := c.Sessions(context.Background()); CodeOf(err) != CodeInternal || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("Sessions: %v", err)
	}
	err := c.Trace(context.Background(), TraceFilter{User: "a"}, func(TraceEvent) error { return nil })
	if CodeOf(err) != CodeInternal || !strings.Contains(err.Error(), "nil map") {
		t.Fatalf("Trace: %v", err)
	}
	resps := rawExchange(t, c.Socket, `{"cmd":"sessions"}`, `{"cmd":"ping"}`)
	if resps[0].OK || !resps[1].OK {
		t.Fatalf("after a panic: %+v", resps)
	}
}
