package ppp

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
)

// In-process test harness: two Links joined by lossy in-memory "wires"
// (one goroutine per direction, like a GRE socket), a fake Authenticator
// with a user table, and a log capture.

// fakeAuth is a local user table doing the server-side crypto the way
// pkg/aaa does: RFC 2759 checks and RFC 3079 keys.
type fakeAuth struct {
	users map[string]string
	mu    sync.Mutex
	reqs  []*AuthRequest
	delay time.Duration
	// cancelled is set when a delayed Authenticate saw its context end.
	cancelled atomic.Bool
	// failCode is the FailureCode of every refusal (0: the default, 691).
	failCode int
}

func (f *fakeAuth) Authenticate(ctx context.Context, req *AuthRequest) (*AuthResult, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			f.cancelled.Store(true)
			return nil, ctx.Err()
		}
	}
	pw, known := f.users[req.User]
	deny := &AuthResult{Message: "Authentication failed", FailureCode: f.failCode}
	if !known {
		return deny, nil
	}
	switch req.Proto {
	case AuthPAP:
		if subtle.ConstantTimeCompare([]byte(pw), req.Password) == 1 {
			return &AuthResult{OK: true}, nil
		}
	case AuthCHAPMD5:
		h := md5.New()
		h.Write([]byte{req.Ident})
		h.Write([]byte(pw))
		h.Write(req.Challenge)
		if subtle.ConstantTimeCompare(h.Sum(nil), req.Response) == 1 {
			return &AuthResult{OK: true}, nil
		}
	case AuthMSCHAPv1:
		r, err := mschap.ParseResponseV1(req.Response)
		var c [8]byte
		copy(c[:], req.Challenge)
		if err == nil && mschap.CheckNTChallengeResponse(c, pw, r.NTResponse) {
			k := mppe.MasterKeyV1(mschap.HashNTPasswordHash(mschap.NTPasswordHash(pw)), c)
			return &AuthResult{OK: true, MPPESendKey: k[:], MPPERecvKey: k[:]}, nil
		}
	case AuthMSCHAPv2:
		r, err := mschap.ParseResponse(req.Response)
		var ac [16]byte
		copy(ac[:], req.Challenge)
		if err == nil && mschap.CheckNTResponse(ac, r.PeerChallenge, req.User, pw, r.NTResponse) {
			hh := mschap.HashNTPasswordHash(mschap.NTPasswordHash(pw))
			s, rv := mppe.MasterKeys(hh, r.NTResponse, true)
			return &AuthResult{
				OK:                    true,
				Message:               "Welcome",
				AuthenticatorResponse: mschap.GenerateAuthenticatorResponseHash(hh, r.NTResponse, r.PeerChallenge, ac, req.User),
				MPPESendKey:           s[:],
				MPPERecvKey:           rv[:],
			}, nil
		}
	}
	return deny, nil
}

// logBuf collects log lines of one side.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) has(s string) bool { return strings.Contains(l.String(), s) }

// end is one side of a test link.
type end struct {
	link *Link
	logs *logBuf
	up   chan UpInfo
	down chan string
	ip   chan []byte
	// sent records every frame this side sent (copied), for wire checks.
	mu   sync.Mutex
	sent [][]byte
	// drop, when set, discards frames this side sends (a lossy wire).
	drop func(frame []byte) bool
	// tap, when set, takes every frame instead of the wire (benchmarks).
	tap func(frame []byte)
	// ipTap, when set, takes received IP packets instead of the ip channel.
	ipTap func(pkt []byte)
	wire  chan []byte
}

func (e *end) frames() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.sent...)
}

func (e *end) setTap(fn func([]byte)) {
	e.mu.Lock()
	e.tap = fn
	e.mu.Unlock()
}

func (e *end) setIPTap(fn func([]byte)) {
	e.mu.Lock()
	e.ipTap = fn
	e.mu.Unlock()
}

func (e *end) setDrop(fn func([]byte) bool) {
	e.mu.Lock()
	e.drop = fn
	e.mu.Unlock()
}

const (
	testUser = "test"
	testPass = "test.test"
)

var (
	testLocal = netip.MustParseAddr("10.79.97.1")
	testPeer  = netip.MustParseAddr("10.79.97.10")
	testDNS   = [2]netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("192.0.2.54")}
)

// serverConfig is the seed tutorial's server: MS-CHAPv2, MPPE-128 required.
func serverConfig() Config {
	return Config{
		Role:          Server,
		Name:          "pptpbox",
		Auth:          []AuthProto{AuthMSCHAPv2},
		Authenticator: &fakeAuth{users: map[string]string{testUser: testPass}},
		MPPE:          MPPEPolicy{Required: true, Bits128: true},
		Network: func(ctx context.Context, user string, res *AuthResult) (NetworkParams, error) {
			return NetworkParams{LocalIP: testLocal, PeerIP: testPeer, DNS: testDNS}, nil
		},
		RestartTimeout: 50 * time.Millisecond,
	}
}

func clientConfig() Config {
	return Config{
		Role:           Client,
		Username:       testUser,
		Password:       testPass,
		MPPE:           MPPEPolicy{Required: true, Bits128: true},
		RestartTimeout: 50 * time.Millisecond,
	}
}

// seeded returns a deterministic random source for a test side.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

func newEnd(t testing.TB, cfg Config, seed uint64) *end {
	e := &end{
		logs: &logBuf{},
		up:   make(chan UpInfo, 1),
		down: make(chan string, 1),
		ip:   make(chan []byte, 1024),
		wire: make(chan []byte, 1024),
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Rand == nil {
		cfg.Rand = seeded(seed)
	}
	var downs int
	var dmu sync.Mutex
	cfg.OnUp = func(u UpInfo) { e.up <- u }
	cfg.OnDown = func(r string) {
		dmu.Lock()
		downs++
		n := downs
		dmu.Unlock()
		if n > 1 {
			t.Errorf("OnDown called %d times (%q)", n, r)
			return
		}
		e.down <- r
	}
	cfg.OnIP = func(p []byte) {
		e.mu.Lock()
		tap := e.ipTap
		e.mu.Unlock()
		if tap != nil {
			tap(p)
			return
		}
		e.ip <- append([]byte(nil), p...)
	}
	cfg.Send = func(frame []byte) {
		e.mu.Lock()
		tap := e.tap
		e.mu.Unlock()
		if tap != nil {
			tap(frame)
			return
		}
		c := append([]byte(nil), frame...)
		e.mu.Lock()
		e.sent = append(e.sent, c)
		drop := e.drop
		e.mu.Unlock()
		if drop != nil && drop(c) {
			return
		}
		select {
		case e.wire <- c:
		default: // a full wire loses frames, as a real one does
		}
	}
	if at := cfg.SendAt; at != nil {
		// A test's SendAt sees the frame with its headroom first.
		send := cfg.Send
		cfg.SendAt = func(buf []byte, off int) { at(buf, off); send(buf[off:]) }
	}
	e.link = New(cfg)
	return e
}

// connect pumps a's frames into b and b's into a until the test ends.
func connect(t testing.TB, a, b *end) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	pump := func(from, to *end) {
		defer wg.Done()
		for {
			select {
			case f := <-from.wire:
				to.link.Input(f)
			case <-done:
				return
			}
		}
	}
	wg.Add(2)
	go pump(a, b)
	go pump(b, a)
	t.Cleanup(func() {
		if os.Getenv("PPP_TEST_LOG") != "" {
			t.Logf("%v log:\n%s\n%v log:\n%s", a, a.logs, b, b.logs)
		}
		close(done)
		wg.Wait()
		a.link.Close("test over")
		b.link.Close("test over")
	})
}

// pair builds, connects and starts a server and a client.
func pair(t testing.TB, scfg, ccfg Config) (srv, cli *end) {
	t.Helper()
	srv = newEnd(t, scfg, 1)
	cli = newEnd(t, ccfg, 2)
	connect(t, srv, cli)
	srv.link.Start()
	cli.link.Start()
	return srv, cli
}

const waitFor = 5 * time.Second

func waitUp(t testing.TB, e *end, who string) UpInfo {
	t.Helper()
	select {
	case u := <-e.up:
		return u
	case r := <-e.down:
		t.Fatalf("%s went down instead of up: %s\nlog:\n%s", who, r, e.logs)
	case <-time.After(waitFor):
		t.Fatalf("%s not up after %v\nlog:\n%s", who, waitFor, e.logs)
	}
	return UpInfo{}
}

func waitDown(t testing.TB, e *end, who string) string {
	t.Helper()
	select {
	case r := <-e.down:
		return r
	case u := <-e.up:
		t.Fatalf("%s came up (%+v) but should go down\nlog:\n%s", who, u, e.logs)
	case <-time.After(waitFor):
		t.Fatalf("%s not down after %v\nlog:\n%s", who, waitFor, e.logs)
	}
	return ""
}

func waitIP(t testing.TB, e *end, want []byte) {
	t.Helper()
	select {
	case got := <-e.ip:
		if !bytes.Equal(got, want) {
			t.Fatalf("received packet %x, want %x", got, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("no packet after %v", waitFor)
	}
}

// ipPacket builds a recognisable IPv4-looking payload of n bytes.
func ipPacket(n int, tag byte) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	for i := 1; i < n; i++ {
		p[i] = byte(i) ^ tag
	}
	return p
}

// frameProtos lists the PPP protocols of frames.
func frameProtos(frames [][]byte) map[Proto]int {
	m := map[Proto]int{}
	for _, f := range frames {
		if p, _, err := DecodeFrame(f); err == nil {
			m[p]++
		}
	}
	return m
}

func (e *end) String() string { return fmt.Sprintf("end(%v)", e.link.cfg.Role) }
