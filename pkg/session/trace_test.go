package session

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/authguard"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
	"github.com/pptpbox/pptpbox/pkg/trace"
)

// collect reads sub's events in the background until the test calls the
// returned function, which gives what came.
func collect(t *testing.T, sub *trace.Sub) func() []trace.Event {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var evs []trace.Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			evs = append(evs, ev)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; sub.Close() })
	return func() []trace.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]trace.Event(nil), evs...)
	}
}

func lines(evs []trace.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "#%d %-8s %-7s %-4s %s\n", e.CallID, e.User, e.Layer, e.Dir, e.Text)
	}
	return b.String()
}

// TestTraceUser: while alice is traced, her login shows its PPTP control
// messages, LCP, the MS-CHAPv2 exchange (secrets masked), the local user
// table's verdict, CCP, IPCP and the session's end with its packet
// summary; bob, logging in at the same time, shows nowhere. A peer tracer
// of another address sees nothing; one of the clients' address sees both.
func TestTraceUser(t *testing.T) {
	r := newRig(t, nil)
	hub := r.srv.Trace()
	sub, err := hub.Subscribe(trace.Filter{User: "alice"}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	alice := collect(t, sub)
	other, _ := hub.Subscribe(trace.Filter{Peer: netip.MustParseAddr("127.0.0.2")}, 4096)
	others := collect(t, other)
	lo, _ := hub.Subscribe(trace.Filter{Peer: netip.MustParseAddr("127.0.0.1")}, 4096)
	loopback := collect(t, lo)

	var wg sync.WaitGroup
	var bobErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := r.dial(t, "bob", "bob-pw", nil)
		if err == nil {
			c.Close()
		}
		bobErr = err
	}()
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	var aliceCall uint16
	for _, in := range r.srv.Sessions() {
		if in.User == "alice" {
			aliceCall = in.CallID
		}
	}
	wg.Wait()
	if bobErr != nil {
		t.Fatal(bobErr)
	}
	c.Close()
	waitFor(t, func() bool { return strings.Contains(lines(alice()), "control connection ") })
	waitFor(t, func() bool { return strings.Count(lines(loopback()), "control connection ") == 2 })

	evs := alice()
	out := lines(evs)
	for _, want := range []string{
		"pptp    rcvd [SCCRQ ver=0x0100",
		"pptp    sent [SCCRP ver=0x0100 result=ok",
		"pptp    rcvd [OCRQ call=",
		fmt.Sprintf("pptp    sent [OCRP call=0x%x", aliceCall),
		"lcp     rcvd [LCP ConfReq id=",
		"lcp     sent [LCP ConfAck id=",
		"<auth chap MS-v2>",
		"auth    sent [CHAP Challenge id=",
		`auth    rcvd [CHAP Response id=0x`,
		`<hidden 49 bytes>, name = "alice"]`,
		`auth         local user table: "alice" accepted`,
		`auth         MS-CHAPv2 peer authentication succeeded for "alice"`,
		`auth    sent [CHAP Success id=0x`, `"S=<hidden> M=`,
		"ccp     sent [CCP ConfReq id=0x1 <mppe +H -M +S -L -D -C>]",
		"ccp          MPPE 128-bit stateless compression enabled",
		"ipcp    sent [IPCP ConfNak id=0x1 <addr 10.79.97.",
		"<ms-dns1 8.8.8.8> <ms-dns2 8.8.4.4>",
		"ipcp         remote IP address 10.79.97.",
		`session      session up: user "alice", address 10.79.97.`,
		", auth mschapv2, MPPE 128-bit stateless",
		"session      session down: LCP terminated by peer (client closed) (cause User-Request) after ",
		"packets, out ",
		"pptp         control connection closed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("alice's trace lacks %q", want)
		}
	}
	for i, e := range evs {
		if e.User != "alice" {
			t.Errorf("line %d of alice's trace is %q's: %s", i, e.User, e.Text)
		}
		if e.Peer != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("line %d: peer %v", i, e.Peer)
		}
		if e.CallID != 0 && e.CallID != aliceCall {
			t.Errorf("line %d: call %d, alice's is %d", i, e.CallID, aliceCall)
		}
		if e.Layer != "pptp" && e.CallID != aliceCall {
			t.Errorf("line %d (%s) without alice's call id", i, e.Text)
		}
	}
	if strings.Contains(out, "bob") || strings.Contains(out, "alice-pw") {
		t.Error("alice's trace shows bob or her password")
	}
	if t.Failed() {
		t.Logf("alice's trace:\n%s", out)
	}
	if got := others(); len(got) != 0 {
		t.Errorf("a tracer of 127.0.0.2 got %d lines:\n%s", len(got), lines(got))
	}
	lb := lines(loopback())
	if !strings.Contains(lb, `name = "bob"]`) || !strings.Contains(lb, `name = "alice"]`) {
		t.Errorf("the tracer of 127.0.0.1 lacks a login:\n%s", lb)
	}
}

// TestTraceNobody: with no tracer a login opens no trace at all, and the
// hub's check is the only cost.
func TestTraceNobody(t *testing.T) {
	r := newRig(t, nil)
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := testing.AllocsPerRun(1000, func() {
		if r.srv.connTracer(nil) != nil || r.srv.callTrace(nil, 1) != nil {
			panic("traced")
		}
	}); n != 0 {
		t.Errorf("%v allocations per call when nobody traces", n)
	}
	r.srv.mu.RLock()
	defer r.srv.mu.RUnlock()
	for _, ss := range r.srv.calls {
		if ss.trace != nil {
			t.Error("an untraced login holds a trace")
		}
		if ss.ctrl.Tracer() != nil {
			t.Error("an untraced control connection holds a tracer")
		}
	}
}

// TestTraceRADIUS: a traced login checked by a real FreeRADIUS shows the
// Access-Request and the Access-Accept with their attributes, and none of
// the secrets: the shared secret, the password, the NT-Response, the
// MPPE keys, the S= authenticator response.
func TestTraceRADIUS(t *testing.T) {
	radiustest.Require(t)
	fr := radiustest.Start(t, radiustest.Options{Users: "alice\tCleartext-Password := \"alice-pw\"\n\tClass = \"alice-class\"\n"})
	rc, err := radius.New(radius.Config{
		Servers:       []radius.Server{{Auth: fr.AuthAddr(), Acct: fr.AcctAddr(), Secret: []byte(fr.Secret)}},
		NASIdentifier: "pptpbox-trace", Timeout: 2 * time.Second, Retries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reqs []*ppp.AuthRequest
	var results []*ppp.AuthResult
	r := newRig(t, func(c *Config) {
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			res, err := rc.Authenticate(ctx, req)
			mu.Lock()
			reqs, results = append(reqs, req), append(results, res)
			mu.Unlock()
			return res, err
		})
		c.Accounting = rc
	})
	sub, err := r.srv.Trace().Subscribe(trace.Filter{User: "alice"}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	alice := collect(t, sub)
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, func() bool { return strings.Count(lines(alice()), "rcvd [Accounting-Response") == 2 })
	out := lines(alice())
	for _, want := range []string{
		"radius  sent [Accounting-Request id=0x", "to " + fr.AcctAddr(), "<Acct-Status-Type Start>",
		"<Acct-Status-Type Stop>", "<Acct-Terminate-Cause User-Request>", "<Acct-Authentic RADIUS>",
		"<Acct-Session-Time ", "<Acct-Input-Octets ", "from " + fr.AcctAddr(),
		"radius  sent [Access-Request id=0x", "to " + fr.AuthAddr(),
		`<User-Name "alice">`, "<MS-CHAP2-Response <hidden 50 bytes>>", `<NAS-Identifier "pptpbox-trace">`,
		"radius  rcvd [Access-Accept id=0x", "<Message-Authenticator <hidden 16 bytes>>",
		"<MS-CHAP2-Success <hidden 43 bytes>>", "<MS-MPPE-Send-Key <hidden", "<MS-MPPE-Recv-Key <hidden",
		"<Class 0x" + hex.EncodeToString([]byte("alice-class")) + ">",
		`MS-CHAPv2 peer authentication succeeded for "alice"`, "session up:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	mu.Lock()
	req, res := reqs[0], results[0]
	mu.Unlock()
	mr, err := mschap.ParseResponse(req.Response)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]byte{
		"secret": []byte(fr.Secret), "password": []byte("alice-pw"), "NT-Response": mr.NTResponse[:],
		"send key": res.MPPESendKey, "recv key": res.MPPERecvKey, "S=": []byte(res.AuthenticatorResponse[2:]),
	} {
		h := hex.EncodeToString(v)
		for _, form := range []string{string(v), h, strings.ToUpper(h), h[:16], strings.ToUpper(h[:16])} {
			if strings.Contains(out, form) {
				t.Errorf("the trace shows the %s", name)
			}
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("trace:\n%s", out)
	}
}

// TestTraceFailedLogin: the trace of a refused login says why: the local
// user table's reason, the MS-CHAPv2 Failure sent, the session's end.
func TestTraceFailedLogin(t *testing.T) {
	r := newRig(t, nil)
	sub, err := r.srv.Trace().Subscribe(trace.Filter{User: "alice"}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	alice := collect(t, sub)
	if c, err := r.dial(t, "alice", "not-alice-pw", nil); err == nil {
		c.Close()
		t.Fatal("a wrong password logged in")
	}
	waitFor(t, func() bool { return strings.Contains(lines(alice()), "session down:") })
	out := lines(alice())
	for _, want := range []string{
		`auth    rcvd [CHAP Response id=0x`,
		`auth         local user table: "alice" refused: wrong password`,
		`auth         MS-CHAPv2 peer authentication failed for "alice"`,
		`auth    sent [CHAP Failure id=0x`, `"E=691 R=`,
		`session      session down: MS-CHAPv2 peer authentication failed for "alice"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if strings.Contains(out, "session up") || strings.Contains(out, "not-alice-pw") {
		t.Error("the trace shows a session up or the password tried")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("trace:\n%s", out)
	}
}

// TestTraceGuard: the password-guessing guard says in the trace why a
// login fails: a failure held back, then the right password refused
// unchecked while the user is in backoff.
func TestTraceGuard(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newRig(t, func(c *Config) {
		c.Guard = authguard.New(authguard.Config{Limit: 1, SourceLimit: 10, Delay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Now: clk.now})
	})
	sub, err := r.srv.Trace().Subscribe(trace.Filter{User: "alice"}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	alice := collect(t, sub)
	for _, pw := range []string{"wrong", "wrong", "alice-pw"} {
		if c, err := r.dial(t, "alice", pw, nil); err == nil {
			c.Close()
			t.Fatalf("alice logged in with %q in backoff", pw)
		}
	}
	waitFor(t, func() bool { return strings.Count(lines(alice()), "session down:") == 3 })
	out := lines(alice())
	for _, want := range []string{
		"auth         failure answered after ",
		"(password-guessing backoff)",
		"auth         refused unchecked: in backoff (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("trace:\n%s", out)
	}
}

// TestTraceSlowReader: a tracer that does not read (a stalled serial line)
// holds up no login: its buffer fills, the rest is dropped and counted,
// and reading later gives the count in its place.
func TestTraceSlowReader(t *testing.T) {
	r := newRig(t, nil)
	sub, err := r.srv.Trace().Subscribe(trace.Filter{Peer: netip.MustParseAddr("127.0.0.1")}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	c, err := r.dial(t, "alice", "alice-pw", nil)
	if err != nil {
		t.Fatalf("a login with a stalled tracer: %v", err)
	}
	c.Close()
	if sub.Dropped() == 0 {
		t.Fatal("nothing dropped with a 4-line buffer nobody reads")
	}
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			break
		}
		got = append(got, ev.Text)
	}
	if len(got) < 5 || !strings.HasPrefix(got[0], "[SCCRQ") || !strings.HasPrefix(got[4], "… ") || !strings.HasSuffix(got[4], " events dropped") {
		t.Fatalf("read after the login: %q", got)
	}
}

// TestTracePeerNoCall: `trace peer` follows a connection from its first
// message even when it never places a call (no user name ever), to its
// end.
func TestTracePeerNoCall(t *testing.T) {
	r := newRig(t, nil)
	sub, err := r.srv.Trace().Subscribe(trace.Filter{Peer: netip.MustParseAddr("127.0.0.1")}, 64)
	if err != nil {
		t.Fatal(err)
	}
	peer := collect(t, sub)
	user, _ := r.srv.Trace().Subscribe(trace.Filter{User: "alice"}, 64)
	users := collect(t, user)
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	req := &pptp.StartControlConnectionRequest{ProtocolVersion: pptp.ProtocolVersion, FramingCapabilities: 1, BearerCapabilities: 1, HostName: "scanner\x1b[2J"}
	if _, err := nc.Write(req.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := pptp.ReadMessage(nc, make([]byte, pptp.MaxMessageLen)); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	waitFor(t, func() bool { return strings.Contains(lines(peer()), "control connection lost") })
	out := lines(peer())
	for _, want := range []string{
		`pptp    rcvd [SCCRQ ver=0x0100 framing=async bearer=analog channels=0 firmware=0x0 host="scanner\x1b[2J" vendor=""]`,
		"pptp    sent [SCCRP ver=0x0100 result=ok",
		"pptp         control connection lost: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("peer trace lacks %q\n%s", want, out)
		}
	}
	if got := users(); len(got) != 0 {
		t.Errorf("a user tracer got lines of a login that never named a user:\n%s", lines(got))
	}
}
