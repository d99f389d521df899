package radius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// fakeServer is a RADIUS server on loopback UDP for the tests: it checks
// every request's authenticators and Message-Authenticator, and answers
// with what handle returns (nil: stay silent).
type fakeServer struct {
	t      testing.TB
	conn   *net.UDPConn
	secret []byte
	handle func(req *radius.Packet) *radius.Packet
	// addMA puts a Message-Authenticator into replies.
	addMA bool
	// encode, when set, encodes replies instead (forged signatures).
	encode func(*radius.Packet) ([]byte, error)
	mu     sync.Mutex
	// corrupt, when set, rewrites each encoded reply before it is sent.
	corrupt  func([]byte) []byte
	requests []*radius.Packet
	froms    []netip.Addr // each request's source address
	got      atomic.Int32
	badReqs  atomic.Int32
}

func newFakeServer(t testing.TB, secret string, handle func(req *radius.Packet) *radius.Packet) *fakeServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, conn: c, secret: []byte(secret), handle: handle, addMA: true}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.serve(append([]byte(nil), buf[:n]...), from)
		}
	}()
	return s
}

func (s *fakeServer) addr() string { return s.conn.LocalAddr().String() }

func (s *fakeServer) serve(b []byte, from *net.UDPAddr) {
	req, err := radius.Parse(b, s.secret)
	if err != nil || !requestAuthentic(b, s.secret) {
		s.badReqs.Add(1)
		return
	}
	s.got.Add(1)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.froms = append(s.froms, from.AddrPort().Addr().Unmap())
	s.mu.Unlock()
	resp := s.handle(req)
	if resp == nil {
		return
	}
	s.mu.Lock()
	encode, addMA := s.encode, s.addMA
	s.mu.Unlock()
	out, err := encodeReply(resp, addMA)
	if encode != nil {
		out, err = encode(resp)
	}
	if err != nil {
		s.t.Errorf("fake server: encode: %v", err)
		return
	}
	s.mu.Lock()
	corrupt := s.corrupt
	s.mu.Unlock()
	if corrupt != nil {
		out = corrupt(out)
	}
	s.conn.WriteToUDP(out, from)
}

func (s *fakeServer) reqs() []*radius.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*radius.Packet(nil), s.requests...)
}

// requestAuthentic checks a request's Message-Authenticator (RFC 3579
// §3.2, required here) and, for accounting, its Request Authenticator
// (RFC 2866 §3), independently of the client's code.
func requestAuthentic(b, secret []byte) bool {
	off := findAttr(b, byte(rfc2869.MessageAuthenticator_Type))
	if off < 0 {
		return false
	}
	c := append([]byte(nil), b...)
	if radius.Code(b[0]) == radius.CodeAccountingRequest {
		clear(c[4:20])
		h := md5.New()
		h.Write(c[:20])
		h.Write(c[20:])
		h.Write(secret)
		if !bytes.Equal(h.Sum(nil), b[4:20]) {
			return false
		}
	}
	clear(c[off+2 : off+18])
	m := hmac.New(md5.New, secret)
	m.Write(c)
	return hmac.Equal(m.Sum(nil), b[off+2:off+18])
}

// encodeReply encodes a reply, with a Message-Authenticator when ma.
func encodeReply(p *radius.Packet, ma bool) ([]byte, error) {
	if !ma {
		return p.Encode()
	}
	return encodeResponse(p)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("PPTPBOX_TEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestClient(t testing.TB, mutate func(*Config), servers ...Server) *Client {
	t.Helper()
	// A timeout long enough for a loaded CI machine to answer on
	// loopback; the tests of silence set a short one (short()).
	cfg := Config{Servers: servers, NASIdentifier: "pptpbox-test", Timeout: 2 * time.Second, Retries: 1, Logger: testLogger(t)}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
		c.Abandon()
	})
	return c
}

// short is the timeout of tests that expect servers to stay silent.
func short(cfg *Config) { cfg.Timeout = 250 * time.Millisecond }
