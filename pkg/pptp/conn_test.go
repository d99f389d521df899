package pptp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLog discards logs unless -v, where it shows them.
func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// recorder is a Handler that hands out call IDs from one counter shared by
// every connection (as pkg/session does) and records the events.
type recorder struct {
	mu      sync.Mutex
	next    uint16
	refuse  error
	events  []string
	cleared chan uint16
}

func newRecorder() *recorder { return &recorder{next: 0x100, cleared: make(chan uint16, 64)} }

func (r *recorder) OutgoingCall(c *Conn, peerCallID uint16, req *OutgoingCallRequest) (uint16, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse != nil {
		return 0, r.refuse
	}
	r.next++
	r.events = append(r.events, fmt.Sprintf("call %d peer %d window %d", r.next, peerCallID, req.RecvWindow))
	return r.next, nil
}

func (r *recorder) SetLinkInfo(c *Conn, callID uint16, send, recv uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("sli %d %08x %08x", callID, send, recv))
}

func (r *recorder) CallCleared(c *Conn, callID uint16) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf("cleared %d", callID))
	r.mu.Unlock()
	r.cleared <- callID
}

func (r *recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) waitCleared(t *testing.T, want uint16) {
	t.Helper()
	select {
	case id := <-r.cleared:
		if id != want {
			t.Fatalf("CallCleared(%d), want %d", id, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no CallCleared(%d)", want)
	}
}

// addrConn gives a net.Pipe end a TCP remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (a addrConn) RemoteAddr() net.Addr { return a.remote }

var testPeer = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 40000}

// served runs c.Serve in the background; the returned channel yields its
// result.
func served(c *Conn) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(context.Background()) }()
	return errc
}

func waitErr(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

type pair struct {
	srv, cli       *Conn
	srvH, cliH     *recorder
	srvErr, cliErr <-chan error
}

// newPair connects a server and a client over net.Pipe and starts the
// control connection.
func newPair(t *testing.T, srvH *recorder, cfg Config) *pair {
	t.Helper()
	a, b := net.Pipe()
	p := &pair{srvH: srvH, cliH: newRecorder()}
	p.srv = NewServerConn(addrConn{a, testPeer}, cfg, srvH, testLog(t))
	p.cli = NewClientConn(b, Config{HostName: "loadgen"}, p.cliH, testLog(t))
	p.srvErr, p.cliErr = served(p.srv), served(p.cli)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.cli.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.cli.Close(); p.srv.Close() })
	return p
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientServerCallLifecycle(t *testing.T) {
	srvH := newRecorder()
	p := newPair(t, srvH, Config{RecvWindow: 32})
	if p.srv.State() != StateEstablished || p.cli.State() != StateEstablished {
		t.Fatalf("states %s/%s", p.srv.State(), p.cli.State())
	}
	if p.srv.RemoteAddr() != netip.MustParseAddrPort("192.0.2.10:40000") {
		t.Errorf("RemoteAddr = %v", p.srv.RemoteAddr())
	}
	ctx := ctx5(t)

	// Call 1: the client clears it.
	r, err := p.cli.OutgoingCall(ctx, 7)
	if err != nil {
		t.Fatalf("OutgoingCall: %v", err)
	}
	if r.CallID != 0x101 || r.PeerCallID != 7 || r.RecvWindow != 32 || r.Result != OutgoingConnected {
		t.Fatalf("reply %+v", r)
	}
	if st, ok := p.srv.CallState(0x101); !ok || st != CallEstablished {
		t.Fatalf("server call state %v %v", st, ok)
	}
	if err := p.cli.SetLinkInfo(7, 0xffffffff, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.cli.ClearCall(ctx, 7); err != nil {
		t.Fatalf("ClearCall: %v", err)
	}
	srvH.waitCleared(t, 0x101)
	if _, ok := p.srv.CallState(0x101); ok {
		t.Error("server still has the cleared call")
	}

	// Call 2: the server disconnects it; the client's handler hears.
	if _, err := p.cli.OutgoingCall(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := p.srv.DisconnectCall(0x102, DisconnectAdminDown, 0); err != nil {
		t.Fatal(err)
	}
	p.cliH.waitCleared(t, 8)
	if err := p.srv.DisconnectCall(0x102, DisconnectAdminDown, 0); err == nil {
		t.Error("second DisconnectCall of the same call succeeded")
	}

	// Call 3 is open when the client stops the connection: both sides
	// clear it, and both Serves end cleanly.
	if _, err := p.cli.OutgoingCall(ctx, 9); err != nil {
		t.Fatal(err)
	}
	p.cli.Close()
	srvH.waitCleared(t, 0x103)
	p.cliH.waitCleared(t, 9)
	if err := waitErr(t, p.srvErr); err != nil {
		t.Errorf("server Serve: %v", err)
	}
	if err := waitErr(t, p.cliErr); err != nil {
		t.Errorf("client Serve: %v", err)
	}
	want := []string{"call 257 peer 7 window 64", "sli 257 ffffffff 00000000", "cleared 257",
		"call 258 peer 8 window 64", "call 259 peer 9 window 64", "cleared 259"}
	if got := srvH.Events(); !slices.Equal(got, want) {
		t.Errorf("server events\n got %q\nwant %q", got, want)
	}
	ctr := p.srv.Counters()
	if ctr.CallsOpened.Load() != 3 || ctr.CallsCleared.Load() != 3 || ctr.Unexpected.Load() != 0 || ctr.BadCallID.Load() != 0 {
		t.Errorf("server counters opened %d cleared %d unexpected %d badcall %d", ctr.CallsOpened.Load(),
			ctr.CallsCleared.Load(), ctr.Unexpected.Load(), ctr.BadCallID.Load())
	}
	if _, err := p.cli.OutgoingCall(ctx, 10); err == nil {
		t.Error("OutgoingCall on a closed connection succeeded")
	}
}

func TestServerCloseClearsCalls(t *testing.T) {
	srvH := newRecorder()
	p := newPair(t, srvH, Config{})
	ctx := ctx5(t)
	for id := uint16(1); id <= 2; id++ {
		if _, err := p.cli.OutgoingCall(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// CDN for each call, then Stop-Control-Connection-Request; a second,
	// concurrent Close waits for the first instead of cutting it short.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { p.srv.Close() })
	}
	wg.Wait()
	got := []uint16{<-p.cliH.cleared, <-p.cliH.cleared}
	slices.Sort(got)
	if !slices.Equal(got, []uint16{1, 2}) {
		t.Errorf("client cleared %v", got)
	}
	got = []uint16{<-srvH.cleared, <-srvH.cleared}
	slices.Sort(got)
	if !slices.Equal(got, []uint16{0x101, 0x102}) {
		t.Errorf("server cleared %v", got)
	}
	if err := waitErr(t, p.cliErr); err != nil {
		t.Errorf("client Serve: %v", err)
	}
	if p.srv.State() != StateClosed {
		t.Errorf("server state %s", p.srv.State())
	}
	if len(srvH.cleared) != 0 || len(p.cliH.cleared) != 0 {
		t.Errorf("extra CallCleared events: server %d client %d", len(srvH.cleared), len(p.cliH.cleared))
	}
	if n := p.cli.Counters().Unexpected.Load(); n != 0 {
		t.Errorf("client saw %d unexpected messages", n)
	}
}

func TestOutgoingCallRefused(t *testing.T) {
	tests := []struct {
		name    string
		refuse  error
		wantErr ErrorCode
	}{
		{"pool exhausted", fmt.Errorf("pool: %w", ErrNoResource), ErrorNoResource},
		{"other failure", errors.New("session: shutting down"), ErrorPACError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srvH := newRecorder()
			srvH.refuse = tt.refuse
			p := newPair(t, srvH, Config{})
			r, err := p.cli.OutgoingCall(ctx5(t), 1)
			if err == nil || r == nil || r.Result != OutgoingGeneralError || r.Error != tt.wantErr {
				t.Fatalf("OutgoingCall = %+v, %v", r, err)
			}
			if _, ok := p.cli.CallState(1); ok {
				t.Error("client kept the refused call")
			}
			if n := p.srv.Counters().CallsRefused.Load(); n != 1 {
				t.Errorf("CallsRefused = %d", n)
			}
		})
	}
}

func TestSeveralClientsSameRemoteAddr(t *testing.T) {
	srvH := newRecorder() // one handler: call IDs unique across connections
	cfg := Config{Counters: new(Counters)}
	var pairs []*pair
	for range 3 {
		pairs = append(pairs, newPair(t, srvH, cfg))
	}
	ctx := ctx5(t)
	seen := map[uint16]bool{}
	for i, p := range pairs {
		if p.srv.RemoteAddr() != pairs[0].srv.RemoteAddr() {
			t.Fatal("remote addresses differ")
		}
		// Every client picks the same call ID, as separate PCs behind one
		// NAT would.
		r, err := p.cli.OutgoingCall(ctx, 1)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if seen[r.CallID] {
			t.Fatalf("server call ID %d given twice", r.CallID)
		}
		seen[r.CallID] = true
	}
	// Clearing on one connection leaves the others alone.
	if err := pairs[1].cli.ClearCall(ctx, 1); err != nil {
		t.Fatal(err)
	}
	srvH.waitCleared(t, 0x102)
	for _, i := range []int{0, 2} {
		if _, ok := pairs[i].srv.CallState(uint16(0x101 + i)); !ok {
			t.Errorf("connection %d lost its call", i)
		}
	}
	if n := cfg.Counters.CallsOpened.Load(); n != 3 {
		t.Errorf("shared counter CallsOpened = %d, want 3", n)
	}
}

// rawPeer drives a server Conn with hand-made bytes over net.Pipe.
type rawPeer struct {
	t    *testing.T
	nc   net.Conn
	srv  *Conn
	h    *recorder
	errc <-chan error
	buf  []byte
}

func newRawPeer(t *testing.T, cfg Config) *rawPeer {
	a, b := net.Pipe()
	h := newRecorder()
	srv := NewServerConn(a, cfg, h, testLog(t))
	rp := &rawPeer{t: t, nc: b, srv: srv, h: h, errc: served(srv), buf: make([]byte, MaxMessageLen)}
	t.Cleanup(func() { b.Close(); srv.Close() })
	return rp
}

func (p *rawPeer) write(b []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *rawPeer) read() Message {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := ReadMessage(p.nc, p.buf)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return m
}

func (p *rawPeer) start() {
	p.t.Helper()
	p.write((&StartControlConnectionRequest{ProtocolVersion: ProtocolVersion, HostName: "raw"}).Append(nil))
	r, ok := p.read().(*StartControlConnectionReply)
	if !ok || r.Result != ControlOK || r.ProtocolVersion != ProtocolVersion || r.MaxChannels != 65535 ||
		r.HostName != "pptpbox" || r.FramingCapabilities != FramingAsync|FramingSync {
		p.t.Fatalf("SCCRP %+v", r)
	}
}

// expectClosed checks that the server ended the connection with an error
// mentioning want, and that TCP is closed.
func (p *rawPeer) expectClosed(want string) {
	p.t.Helper()
	err := waitErr(p.t, p.errc)
	if err == nil || (want != "" && !strings.Contains(err.Error(), want)) {
		p.t.Fatalf("Serve = %v, want error with %q", err, want)
	}
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Read(make([]byte, 1)); err != io.EOF {
		p.t.Fatalf("peer read after close: %v", err)
	}
}

func TestServerRejectsBadInput(t *testing.T) {
	echo := (&EchoRequest{Identifier: 5}).Append(nil)
	tests := []struct {
		name    string
		started bool
		input   []byte
		want    string
		counter func(*Counters) uint64
	}{
		{"bad magic", true, withHeader(16, 1, 0xdeadbeef, TypeEchoRequest, 4), "magic",
			func(c *Counters) uint64 { return c.BadMagic.Load() }},
		{"absurd length", true, withHeader(4000, 1, MagicCookie, TypeEchoRequest, 4), "length 4000",
			func(c *Counters) uint64 { return c.BadLength.Load() }},
		{"tiny length", false, withHeader(3, 1, MagicCookie, TypeEchoRequest, 4), "length 3",
			func(c *Counters) uint64 { return c.BadLength.Load() }},
		{"truncated outgoing-call-request", true, withHeader(12, 1, MagicCookie, TypeOutgoingCallRequest, 0),
			"outgoing-call-request: bad length 12", func(c *Counters) uint64 { return c.Malformed.Load() }},
		{"oversized set-link-info", true, withHeader(40, 1, MagicCookie, TypeSetLinkInfo, 28),
			"set-link-info: bad length 40", func(c *Counters) uint64 { return c.Malformed.Load() }},
		{"echo before start", false, echo, "echo-request before",
			func(c *Counters) uint64 { return c.Unexpected.Load() }},
		{"unsupported version", false, (&StartControlConnectionRequest{ProtocolVersion: 0x0200}).Append(nil),
			"version 0x0200", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newRawPeer(t, Config{})
			if tt.started {
				p.start()
			}
			// The server may close after the header, before reading the
			// rest: a failed write is part of the expected outcome.
			p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			p.nc.Write(tt.input)
			if tt.counter == nil { // the version check answers before closing
				r, ok := p.read().(*StartControlConnectionReply)
				if !ok || r.Result != ControlVersionMismatch || r.ProtocolVersion != ProtocolVersion {
					t.Fatalf("reply %+v", r)
				}
			}
			p.expectClosed(tt.want)
			if tt.counter != nil && tt.counter(p.srv.Counters()) != 1 {
				t.Errorf("counter not incremented")
			}
		})
	}
}

func TestServerSkipsUnknownAndIgnoresStrays(t *testing.T) {
	p := newRawPeer(t, Config{})
	p.start()
	p.write(withHeader(20, 1, MagicCookie, 200, 8))               // unknown control type
	p.write(withHeader(16, 2, MagicCookie, 1, 4))                 // management message
	p.write((&CallClearRequest{CallID: 77}).Append(nil))          // no such call
	p.write((&SetLinkInfo{PeerCallID: 77}).Append(nil))           // no such call
	p.write((&StopControlConnectionReply{Result: 1}).Append(nil)) // no stop pending
	p.write((&IncomingCallRequest{CallID: 4}).Append(nil))        // wrong direction
	if r, ok := p.read().(*IncomingCallReply); !ok || r.Result != IncomingDoNotAccept || r.PeerCallID != 4 {
		t.Fatalf("reply to ICRQ: %+v", r)
	}
	p.write((&EchoRequest{Identifier: 0xabcdef01}).Append(nil))
	if r, ok := p.read().(*EchoReply); !ok || r.Identifier != 0xabcdef01 || r.Result != ResultOK {
		t.Fatalf("echo reply %+v", r)
	}
	// Same peer call ID twice on one connection: the second is refused.
	for i, want := range []OutgoingResult{OutgoingConnected, OutgoingGeneralError} {
		p.write((&OutgoingCallRequest{CallID: 9, RecvWindow: 16}).Append(nil))
		r, ok := p.read().(*OutgoingCallReply)
		if !ok || r.Result != want || r.PeerCallID != 9 {
			t.Fatalf("OCRP %d: %+v", i, r)
		}
		if i == 1 && r.Error != ErrorBadCallID {
			t.Errorf("duplicate refused with %s", r.Error)
		}
	}
	c := p.srv.Counters()
	if c.Unknown.Load() != 2 || c.BadCallID.Load() != 3 || c.Unexpected.Load() != 3 {
		t.Errorf("unknown %d badcall %d unexpected %d", c.Unknown.Load(), c.BadCallID.Load(), c.Unexpected.Load())
	}
	// The peer's stop request: reply, clear the call, end cleanly.
	p.write((&StopControlConnectionRequest{Reason: StopNone}).Append(nil))
	if r, ok := p.read().(*StopControlConnectionReply); !ok || r.Result != ResultOK {
		t.Fatalf("stop reply %+v", r)
	}
	p.h.waitCleared(t, 0x101)
	if err := waitErr(t, p.errc); err != nil {
		t.Errorf("Serve after peer stop: %v", err)
	}
}

func TestStartTimeout(t *testing.T) {
	p := newRawPeer(t, Config{StartTimeout: 50 * time.Millisecond})
	p.expectClosed("no exchange within")
	if n := p.srv.Counters().StartTimeouts.Load(); n != 1 {
		t.Errorf("StartTimeouts = %d", n)
	}
}

func TestEchoKeepalive(t *testing.T) {
	p := newRawPeer(t, Config{EchoInterval: 40 * time.Millisecond, EchoTimeout: 500 * time.Millisecond})
	p.start()
	// A peer that answers keeps the connection: three rounds.
	var last uint32
	for i := range 3 {
		req, ok := p.read().(*EchoRequest)
		if !ok || (i > 0 && req.Identifier == last) {
			t.Fatalf("echo request %d: %+v", i, req)
		}
		last = req.Identifier
		p.write((&EchoReply{Identifier: req.Identifier, Result: ResultOK}).Append(nil))
	}
	if p.srv.State() != StateEstablished {
		t.Fatalf("state %s", p.srv.State())
	}
	// A peer that goes silent is dropped after EchoTimeout.
	if _, ok := p.read().(*EchoRequest); !ok {
		t.Fatal("no fourth echo request")
	}
	p.expectClosed("echo-request: no reply")
	if n := p.srv.Counters().EchoTimeouts.Load(); n != 1 {
		t.Errorf("EchoTimeouts = %d", n)
	}
}

func TestServeContextCancel(t *testing.T) {
	a, b := net.Pipe()
	srvH := newRecorder()
	srv := NewServerConn(a, Config{StopTimeout: time.Second}, srvH, testLog(t))
	cli := NewClientConn(b, Config{}, nil, testLog(t))
	ctx, cancel := context.WithCancel(context.Background())
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ctx) }()
	cliErr := served(cli)
	if err := cli.Start(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.OutgoingCall(ctx5(t), 3); err != nil {
		t.Fatal(err)
	}
	cancel() // the server shuts down: CDN, StopCCRQ, reply, close
	srvH.waitCleared(t, 0x101)
	if err := waitErr(t, srvErr); err != nil {
		t.Errorf("server Serve: %v", err)
	}
	if err := waitErr(t, cliErr); err != nil {
		t.Errorf("client Serve: %v", err)
	}
}

func TestClientStartRefused(t *testing.T) {
	a, b := net.Pipe()
	cli := NewClientConn(b, Config{}, nil, testLog(t))
	cliErr := served(cli)
	sccrq := make(chan Message, 1)
	go func() {
		buf := make([]byte, MaxMessageLen)
		m, err := ReadMessage(a, buf)
		sccrq <- m
		if err != nil {
			return
		}
		a.Write((&StartControlConnectionReply{ProtocolVersion: ProtocolVersion, Result: ControlNotAuthorized}).Append(nil))
	}()
	err := cli.Start(ctx5(t))
	if err == nil || !strings.Contains(err.Error(), "not-authorized") {
		t.Fatalf("Start = %v", err)
	}
	if m, ok := (<-sccrq).(*StartControlConnectionRequest); !ok || m.ProtocolVersion != ProtocolVersion ||
		m.MaxChannels != 0 || m.HostName != "pptpbox" {
		t.Errorf("SCCRQ %+v", m)
	}
	if err := waitErr(t, cliErr); err == nil {
		t.Error("client Serve ended without error after a refused start")
	}
	a.Close()
}

func TestRemoteAddrUnmapped(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:198.51.100.7"), Port: 1024}
	got := NewServerConn(addrConn{a, mapped}, Config{}, nil, nil).RemoteAddr()
	if want := netip.MustParseAddrPort("198.51.100.7:1024"); got != want {
		t.Errorf("RemoteAddr = %v, want %v", got, want)
	}
}

// TestCallDuringStop: an Outgoing-Call-Request that crosses our
// Stop-Control-Connection-Request is refused, and the stop completes.
func TestCallDuringStop(t *testing.T) {
	p := newRawPeer(t, Config{StopTimeout: 5 * time.Second})
	p.start()
	closed := make(chan struct{})
	go func() { p.srv.Close(); close(closed) }()
	if m, ok := p.read().(*StopControlConnectionRequest); !ok || m.Reason != StopNone {
		t.Fatalf("got %+v, want stop request", m)
	}
	p.write((&OutgoingCallRequest{CallID: 3}).Append(nil))
	if r, ok := p.read().(*OutgoingCallReply); !ok || r.Result != OutgoingGeneralError || r.Error != ErrorNotConnected {
		t.Fatalf("OCRP %+v", r)
	}
	p.write((&StopControlConnectionReply{Result: ResultOK}).Append(nil))
	select {
	case <-closed:
	case <-time.After(4 * time.Second): // well before StopTimeout
		t.Fatal("Close did not return on the stop reply")
	}
	if err := waitErr(t, p.errc); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if len(p.h.Events()) != 0 {
		t.Errorf("handler saw %v", p.h.Events())
	}
}

func TestRemoteAddrFromPipe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := NewServerConn(a, Config{}, nil, nil).RemoteAddr(); got != (netip.AddrPort{}) {
		t.Errorf("RemoteAddr of a pipe = %v", got)
	}
}

// FuzzServe feeds a server connection an arbitrary byte stream and checks
// that Serve ends without panicking and that every call the Handler accepted
// was cleared exactly once.
func FuzzServe(f *testing.F) {
	var session []byte
	for _, m := range []Message{
		&StartControlConnectionRequest{ProtocolVersion: ProtocolVersion},
		&OutgoingCallRequest{CallID: 1, RecvWindow: 64},
		&OutgoingCallRequest{CallID: 2},
		&SetLinkInfo{PeerCallID: 0x101, SendACCM: 0xffffffff},
		&EchoRequest{Identifier: 3},
		&CallClearRequest{CallID: 1},
		&OutgoingCallRequest{CallID: 1},
		&StopControlConnectionRequest{Reason: StopNone},
	} {
		session = m.Append(session)
	}
	f.Add(session)
	f.Add(session[:200])
	f.Add(append((&StartControlConnectionRequest{ProtocolVersion: ProtocolVersion}).Append(nil),
		withHeader(20, 1, MagicCookie, 77, 8)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := net.Pipe()
		h := newRecorder()
		h.cleared = make(chan uint16, 1<<16)
		srv := NewServerConn(a, Config{StopTimeout: 50 * time.Millisecond}, h, slog.New(slog.DiscardHandler))
		errc := served(srv)
		go io.Copy(io.Discard, b) // drain replies
		b.SetWriteDeadline(time.Now().Add(2 * time.Second))
		b.Write(in)
		b.Close()
		select {
		case <-errc:
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not end")
		}
		h.mu.Lock()
		accepted := int(h.next - 0x100)
		h.mu.Unlock()
		seen := map[uint16]int{}
		for len(h.cleared) > 0 {
			seen[<-h.cleared]++
		}
		if len(seen) != accepted {
			t.Fatalf("%d calls accepted, %d cleared: %v", accepted, len(seen), seen)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("call %d cleared %d times", id, n)
			}
		}
	})
}

// TestDialLoopback runs the client's Dial against a server on a real TCP
// socket on the loopback address.
func TestDialLoopback(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvH := newRecorder()
	srvc := make(chan *Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := NewServerConn(nc, Config{}, srvH, testLog(t))
		srvc <- c
		c.Serve(context.Background())
	}()
	cli, err := Dial(ctx5(t), ln.Addr().String(), Config{}, nil, testLog(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer cli.Close()
	if cli.RemoteAddr().String() != ln.Addr().String() {
		t.Errorf("client RemoteAddr %v, listener %v", cli.RemoteAddr(), ln.Addr())
	}
	r, err := cli.OutgoingCall(ctx5(t), 0xbeef)
	if err != nil || r.PeerCallID != 0xbeef {
		t.Fatalf("OutgoingCall = %+v, %v", r, err)
	}
	srv := <-srvc
	if a := srv.RemoteAddr().Addr(); a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("server RemoteAddr %v", srv.RemoteAddr())
	}
	cli.Close()
	srvH.waitCleared(t, r.CallID)
	<-srv.Done()

	// Nobody listening: Dial fails with the address in the error.
	ln.Close()
	if _, err := Dial(ctx5(t), ln.Addr().String(), Config{}, nil, testLog(t)); err == nil ||
		!strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("Dial to a closed port: %v", err)
	}
}

// TestStopAnsweredByHangup: a peer that closes TCP instead of replying to
// our Stop-Control-Connection-Request ends the connection cleanly and
// promptly. pptp-linux may even hang up as soon as its call is
// disconnected, before our request is written: the write then fails, and
// that is still the orderly end we asked for (seen against the real pptp
// program in TestInteropPPTPLinux).
func TestStopAnsweredByHangup(t *testing.T) {
	for _, tc := range []struct {
		name     string
		readStop bool // the peer reads our stop request before hanging up
	}{{"after the stop request", true}, {"after the call-disconnect-notify", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, Config{StopTimeout: 5 * time.Second})
			p.start()
			p.write((&OutgoingCallRequest{CallID: 1}).Append(nil))
			p.read() // OCRP
			closed := make(chan struct{})
			go func() { p.srv.Close(); close(closed) }()
			if m, ok := p.read().(*CallDisconnectNotify); !ok || m.CallID != 0x101 || m.Result != DisconnectAdminDown {
				t.Fatalf("got %+v, want CDN", m)
			}
			if tc.readStop {
				if _, ok := p.read().(*StopControlConnectionRequest); !ok {
					t.Fatal("no stop request")
				}
			}
			p.nc.Close()
			select {
			case <-closed:
			case <-time.After(4 * time.Second):
				t.Fatal("Close waited for a reply that cannot come")
			}
			if err := waitErr(t, p.errc); err != nil {
				t.Errorf("Serve: %v", err)
			}
			p.h.waitCleared(t, 0x101)
		})
	}
}

// closingHandler closes the connection from inside its callbacks.
type closingHandler struct{ *recorder }

func (h closingHandler) SetLinkInfo(c *Conn, callID uint16, send, recv uint32) {
	h.recorder.SetLinkInfo(c, callID, send, recv)
	c.Close() // must not deadlock: Serve is inside this call
}

func (h closingHandler) CallCleared(c *Conn, callID uint16) {
	h.recorder.CallCleared(c, callID)
	c.Close() // during shutdown: must return
}

func TestCloseFromHandler(t *testing.T) {
	a, b := net.Pipe()
	rec := newRecorder()
	srv := NewServerConn(a, Config{StopTimeout: 200 * time.Millisecond}, closingHandler{rec}, testLog(t))
	srvErr := served(srv)
	cli := NewClientConn(b, Config{}, nil, testLog(t))
	cliErr := served(cli)
	if err := cli.Start(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.OutgoingCall(ctx5(t), 1); err != nil {
		t.Fatal(err)
	}
	cli.SetLinkInfo(1, 0, 0)
	rec.waitCleared(t, 0x101)
	if err := waitErr(t, srvErr); err != nil {
		t.Errorf("server Serve: %v", err)
	}
	if err := waitErr(t, cliErr); err != nil {
		t.Errorf("client Serve: %v", err)
	}
}
