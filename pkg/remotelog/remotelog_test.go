package remotelog

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	h := Header{Hostname: "pptp box", AppName: "boxd", ProcID: "42"}
	ts := time.Date(2026, 12, 3, 4, 5, 6, 789000000, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		h    Header
		t    time.Time
		l    slog.Level
		msg  string
		ps   []Param
		want string
	}{
		{"attrs", h, ts, slog.LevelInfo, "session up", []Param{{"user", "alice"}, {"ip", "10.0.0.1"}},
			`<30>1 2026-12-03T03:05:06.789000Z pptpbox boxd 42 - [boxd@32473 user="alice" ip="10.0.0.1"] session up`},
		{"escaping", h, ts, slog.LevelError, "bad", []Param{{`a"b=c]d e`, `q"uo\te]`}},
			`<27>1 2026-12-03T03:05:06.789000Z pptpbox boxd 42 - [boxd@32473 a_b_c_d_e="q\"uo\\te\]"] bad`},
		{"no attrs, no time, empty header", Header{}, time.Time{}, slog.LevelWarn, "w", nil,
			`<28>1 - - - - - - w`},
		{"debug, no text", h, ts, slog.LevelDebug, "", []Param{{"", "v"}},
			`<31>1 2026-12-03T03:05:06.789000Z pptpbox boxd 42 - [boxd@32473 _="v"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Format(nil, tc.h, tc.t, tc.l, tc.msg, tc.ps))
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			m, err := Parse([]byte(got))
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != tc.msg || len(m.Params) != len(tc.ps) {
				t.Fatalf("parsed %+v", m)
			}
			for i, p := range tc.ps {
				if m.Params[i].Value != p.Value || m.Params[i].Name != SDName(p.Name) {
					t.Fatalf("param %d: %+v, want %+v", i, m.Params[i], p)
				}
			}
		})
	}
}

func TestFormatBounded(t *testing.T) {
	long := strings.Repeat("é", 3000)
	var ps []Param
	for i := range 40 {
		ps = append(ps, Param{Name: "k" + strings.Repeat("x", i), Value: long})
	}
	for _, c := range []struct {
		msg string
		ps  []Param
	}{{long, nil}, {long, ps}, {"short", ps}} {
		b := Format(nil, Header{Hostname: "h", AppName: "a", ProcID: "1"}, time.Now(), slog.LevelInfo, c.msg, c.ps)
		if len(b) > MaxMessage {
			t.Fatalf("%d bytes, over %d", len(b), MaxMessage)
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%v: %q", err, b)
		}
		if !strings.HasPrefix(c.msg, m.Text) {
			t.Fatalf("text cut badly: %q", m.Text)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		"", "hello", "<999>1 - - - - - -", "<13>2 - - - - - -", "<13>1 - - - - -",
		`<13>1 - - - - - [x a="b]`, `<13>1 - - - - - [x a="b]"]`, `<13>1 - - - - - [x a=b]`,
		`<13>1 yesterday - - - - -`, `<13>1 - - - - - [x a="b"]tail`,
	} {
		if m, err := Parse([]byte(s)); err == nil {
			t.Errorf("%q parsed: %+v", s, m)
		}
	}
}

// listen is a syslog receiver on loopback: it parses each datagram.
func listen(t *testing.T) (*net.UDPConn, func() Message) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, func() Message {
		t.Helper()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(buf[:n])
		if err != nil {
			t.Fatalf("%v: %q", err, buf[:n])
		}
		return m
	}
}

func TestHandlerSendsToSyslog(t *testing.T) {
	srv, recv := listen(t)
	w, err := Dial(srv.LocalAddr().String(), "boxd")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var local bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&local, nil), w))
	log.With("component", "pptp").WithGroup("call").Info("session up", "user", "alice", slog.Group("ppp", "mru", 1400))
	log.Debug("not at info")
	log.Error("radius timeout", "server", "10.0.0.2:1812")

	m := recv()
	want := []Param{{"component", "pptp"}, {"call.user", "alice"}, {"call.ppp.mru", "1400"}}
	if m.Priority != 30 || m.AppName != "boxd" || m.Text != "session up" || !slices.Equal(m.Params, want) || m.Timestamp.IsZero() {
		t.Fatalf("got %+v", m)
	}
	if m := recv(); m.Priority != 27 || m.Text != "radius timeout" {
		t.Fatalf("second message %+v", m)
	}
	if !strings.Contains(local.String(), "session up") || !strings.Contains(local.String(), "radius timeout") {
		t.Fatalf("the wrapped handler missed lines: %s", local.String())
	}
	// The count follows the send: the receiver may read first.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		sent, dropped, _ := w.Stats()
		if sent == 2 && dropped == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %d dropped %d", sent, dropped)
		}
	}
}

// A socket that never takes a message must not stall the logger: the
// queue fills and the rest is dropped and counted.
func TestWriterNeverBlocks(t *testing.T) {
	a, b := net.Pipe() // nobody reads b: a's writes block
	defer b.Close()
	w := &Writer{conn: a}
	w.start()
	log := slog.New(NewHandler(slog.NewTextHandler(io.Discard, nil), w))
	done := make(chan struct{})
	go func() {
		for i := range 3 * queueLen {
			log.Info("line", "i", i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a stuck syslog socket")
	}
	_, dropped, _ := w.Stats()
	if dropped < 2*queueLen-1 {
		t.Fatalf("dropped %d, want at least %d", dropped, 2*queueLen-1)
	}
	a.Close() // unblocks the writer; Close returns
	w.Close()
}

func TestWriterCountsSocketErrors(t *testing.T) {
	srv, _ := listen(t)
	addr := srv.LocalAddr().String()
	srv.Close() // nobody there: ICMP port unreachable makes later sends fail
	w, err := Dial(addr, "boxd")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.Send(time.Now(), slog.LevelInfo, "x", nil)
		time.Sleep(5 * time.Millisecond)
		if _, dropped, last := w.Stats(); dropped > 0 && last != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no send error counted")
		}
	}
}
