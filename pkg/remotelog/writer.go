package remotelog

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// queueLen is how many records may wait for the socket before new ones
// are dropped.
const queueLen = 512

type entry struct {
	t     time.Time
	level slog.Level
	msg   string
	ps    []Param
}

// Writer sends records to one syslog server over UDP. Safe for concurrent
// use; Send never blocks.
type Writer struct {
	h     Header
	addr  *net.UDPAddr
	conn  net.Conn // nil until the first send connects it (run's)
	q     chan entry
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when run has returned
	close sync.Once

	sent, dropped atomic.Uint64
	lastErr       atomic.Pointer[string]
}

// Dial makes a Writer sending to addr ("IP:port") from app (APP-NAME)
// with the host's name and our PID in the header. The socket is connected
// at the first send, and again after a send failed: at boot the route to
// the server may not exist yet (a connected UDP socket also hears of an
// unreachable port, which lastErr then says).
func Dial(addr, app string) (*Writer, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	w := &Writer{h: Header{Hostname: host, AppName: app, ProcID: strconv.Itoa(os.Getpid())}, addr: ua}
	w.start()
	return w, nil
}

func (w *Writer) start() {
	w.q, w.stop, w.done = make(chan entry, queueLen), make(chan struct{}), make(chan struct{})
	go w.run()
}

// Addr is the server's address.
func (w *Writer) Addr() string { return w.addr.String() }

// Send queues one record, or drops it (counted) when the queue is full or
// the Writer is closed.
func (w *Writer) Send(t time.Time, l slog.Level, msg string, ps []Param) {
	select {
	case <-w.stop:
		w.dropped.Add(1)
		return
	default:
	}
	select {
	case w.q <- entry{t, l, msg, ps}:
	default:
		w.dropped.Add(1)
	}
}

// Stats are the messages sent and dropped (queue full or socket error),
// and the last socket error.
func (w *Writer) Stats() (sent, dropped uint64, lastErr string) {
	if p := w.lastErr.Load(); p != nil {
		lastErr = *p
	}
	return w.sent.Load(), w.dropped.Load(), lastErr
}

// Close sends what is queued (waiting at most a second for the socket)
// and closes it.
func (w *Writer) Close() error {
	w.close.Do(func() { close(w.stop) })
	select {
	case <-w.done:
	case <-time.After(time.Second):
		return errors.New("remotelog: the socket did not take the last messages in 1s")
	}
	if w.conn != nil {
		return w.conn.Close()
	}
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	buf := make([]byte, 0, MaxMessage)
	for {
		select {
		case e := <-w.q:
			buf = w.write(buf, e)
		case <-w.stop:
			for {
				select {
				case e := <-w.q:
					buf = w.write(buf, e)
				default:
					return
				}
			}
		}
	}
}

func (w *Writer) write(buf []byte, e entry) []byte {
	buf = Format(buf[:0], w.h, e.t, e.level, e.msg, e.ps)
	err := w.connect()
	if err == nil {
		// A UDP send to an unreachable port fails with ECONNREFUSED on a
		// later send: the message is lost either way, and counted.
		_, err = w.conn.Write(buf)
	}
	if err != nil {
		w.dropped.Add(1)
		s := err.Error()
		w.lastErr.Store(&s)
		return buf
	}
	w.sent.Add(1)
	return buf
}

// connect makes the socket when there is none (run's goroutine only).
func (w *Writer) connect() error {
	if w.conn != nil {
		return nil
	}
	c, err := net.DialUDP("udp", nil, w.addr)
	if err != nil {
		return err
	}
	w.conn = c
	return nil
}

// Handler passes each record to next and sends it to w too.
type Handler struct {
	next   slog.Handler
	w      *Writer
	attrs  []Param // from WithAttrs, keys prefixed with their groups
	prefix string  // the open groups, "g1.g2."
}

// NewHandler fans records out to next and w.
func NewHandler(next slog.Handler, w *Writer) *Handler { return &Handler{next: next, w: w} }

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.next.Handle(ctx, r)
	ps := make([]Param, len(h.attrs), len(h.attrs)+r.NumAttrs())
	copy(ps, h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		ps = appendAttr(ps, h.prefix, a)
		return true
	})
	h.w.Send(r.Time, r.Level, r.Message, ps)
	return err
}

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.next = h.next.WithAttrs(as)
	n.attrs = append([]Param(nil), h.attrs...)
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return &n
}

func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.next = h.next.WithGroup(name)
	n.prefix = h.prefix + name + "."
	return &n
}

// appendAttr flattens a into ps: groups become "group.key" (slog's text
// handler does the same), empty attributes are left out.
func appendAttr(ps []Param, prefix string, a slog.Attr) []Param {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return ps
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			ps = appendAttr(ps, p, g)
		}
		return ps
	}
	return append(ps, Param{Name: prefix + a.Key, Value: a.Value.String()})
}
