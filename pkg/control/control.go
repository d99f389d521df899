// Package control is the local control socket between boxd and its CLIs
// (boxctl, the serial console, the QEMU rigs). One JSON request per line,
// answered by one JSON line, over a Unix stream socket that only root can
// open. The API it serves is typed (API, api.go): NewHandler serves an API,
// Client is an API over the socket.
//
//	→ {"v":2,"cmd":"session","body":{"sel":"alice"}}
//	← {"ok":true,"data":{"user":"alice",...}}
//	→ {"v":2,"cmd":"kick","body":{"sel":"bob"}}
//	← {"ok":false,"error":{"code":"not_found","message":"no session \"bob\""}}
//
// A streaming command (log.follow, trace, probe) is answered by event lines
// and then one end line, a reply like any other:
//
//	→ {"v":2,"cmd":"trace","body":{"user":"alice"}}
//	← {"event":{"layer":"lcp","dir":"rcvd","text":"[LCP ConfReq id=0x1 ...]"}}
//	← {"ok":true}
//
// The client ends a stream by closing the connection, or by sending its
// next request: the server cancels the call's context, writes the end line
// and (for a next request) goes on.
// "v" is the client's APIVersion; a newer one than the server's is refused
// with bad_request, an absent one is taken as the current. Errors carry a
// Code (the exit status of boxctl) and Details (file:line: key: message).
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// DefaultSocket is where boxd listens unless told otherwise.
const DefaultSocket = "/run/pptpbox/boxd.sock"

// Request is one command.
type Request struct {
	V    int             `json:"v,omitempty"` // the client's APIVersion
	Cmd  string          `json:"cmd"`
	Body json.RawMessage `json:"body,omitempty"` // the typed arguments (handler.go)
}

// Response is one line of an answer: the reply (OK and Data, or Error) or,
// before the reply of a streaming command, one Event.
type Response struct {
	OK    bool            `json:"ok,omitempty"`
	Error *Error          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Event json.RawMessage `json:"event,omitempty"`
}

// Handler answers one request. The value it returns is encoded as Data,
// unless it is a Stream, which Serve then runs. An error that is an *Error
// crosses the socket with its code; any other is CodeInternal.
type Handler func(ctx context.Context, req Request) (any, error)

// Stream is a Handler's answer that comes as events: Serve calls it with a
// send function that writes one event line, and writes its error (or ok)
// as the end line. ctx ends when the client goes away.
type Stream func(ctx context.Context, send func(event any) error) error

// maxLine bounds a request line: a client must not make the daemon buffer
// without limit. A config file sent to config.load fits in it.
const maxLine = 1 << 20

// writeTimeout bounds one line's write: a client that stops reading a
// stream does not hold the stream's producer for longer.
const writeTimeout = 10 * time.Second

// Serve listens on path until ctx ends. A stale socket file is replaced.
func Serve(ctx context.Context, path string, h Handler, log *slog.Logger) error {
	ln, err := Listen(path)
	if err != nil {
		return err
	}
	return ServeListener(ctx, ln, path, h, log)
}

// Listen makes the socket at path (root only; a stale file is replaced),
// so that a daemon can say it is ready only once clients can connect, and
// then serve it with ServeListener.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(dirOf(path), 0o700); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	return ln, nil
}

// ServeListener answers the connections of ln (made by Listen at path)
// until ctx ends, then closes it and removes path.
func ServeListener(ctx context.Context, ln net.Listener, path string, h Handler, log *slog.Logger) error {
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer func() {
		wg.Wait()
		os.Remove(path)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, h, log)
		}()
	}
}

// line is one request line read from a connection, or the reason reading
// stopped early (a line longer than maxLine).
type line struct {
	b   []byte
	err error
}

// serveConn answers the request lines of one connection in order. A reader
// goroutine hands it the lines, so that while a stream runs the connection's
// end (or any line) is seen and cancels the stream.
func serveConn(ctx context.Context, c net.Conn, h Handler, log *slog.Logger) {
	lines := make(chan line)
	done := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(lines)
		sc := bufio.NewScanner(c)
		sc.Buffer(make([]byte, 4096), maxLine)
		for sc.Scan() {
			select {
			case lines <- line{b: slices.Clone(sc.Bytes())}:
			case <-done:
				return
			}
		}
		if errors.Is(sc.Err(), bufio.ErrTooLong) {
			select {
			case lines <- line{err: fmt.Errorf("request line longer than %d bytes", maxLine)}:
			case <-done:
			}
		}
	}()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer func() {
		stop()
		close(done)
		c.Close()
		<-readerDone
	}()
	w := &lineWriter{c: c, ctx: ctx}
	var next *line // a line that came while a stream ran
	for {
		var l line
		if next != nil {
			l, next = *next, nil
		} else {
			var ok bool
			if l, ok = <-lines; !ok {
				return
			}
		}
		if l.err != nil {
			w.write(Response{Error: &Error{Code: CodeBadRequest, Message: "bad request: " + l.err.Error()}})
			return
		}
		var more bool
		if next, more = serveOne(ctx, w, lines, l.b, h, log); !more {
			return
		}
	}
}

// serveOne answers one request line. While a stream runs it watches lines:
// the client's end, or its next request (returned as next), cancels the
// stream. more is false when the connection is done.
func serveOne(ctx context.Context, w *lineWriter, lines <-chan line, b []byte, h Handler, log *slog.Logger) (next *line, more bool) {
	more = true
	var req Request
	reply, err := func() (any, error) {
		if err := json.Unmarshal(b, &req); err != nil {
			return nil, Errorf(CodeBadRequest, "bad request: %v", err)
		}
		if req.V > APIVersion {
			return nil, Errorf(CodeBadRequest, "API version %d is newer than this boxd's (%d): use a boxctl of the same release", req.V, APIVersion)
		}
		var reply any
		err := recovered(log, req.Cmd, func() (err error) {
			reply, err = h(ctx, req)
			return err
		})
		return reply, err
	}()
	events := 0
	if s, ok := reply.(Stream); ok && err == nil {
		reply = nil
		sctx, cancel := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			select {
			case l, ok := <-lines:
				if ok {
					next = &l
				} else {
					more = false
				}
			case <-sctx.Done():
			}
			cancel()
		}()
		err = recovered(log, req.Cmd, func() error {
			return s(sctx, func(ev any) error {
				b, err := json.Marshal(ev)
				if err != nil {
					return fmt.Errorf("control: encode event: %w", err)
				}
				events++
				return w.write(Response{Event: b})
			})
		})
		cancel()
		<-watched
	}
	resp := Response{OK: err == nil}
	if err != nil {
		resp.Error = wireError(err)
	} else if reply != nil {
		if b, err := json.Marshal(reply); err != nil {
			resp = Response{Error: Errorf(CodeInternal, "encode reply: %v", err)}
		} else {
			resp.Data = b
		}
	}
	if log != nil {
		args := []any{"cmd", req.Cmd, "ok", resp.OK}
		if events > 0 {
			args = append(args, "events", events)
		}
		if resp.Error != nil {
			args = append(args, "code", resp.Error.Code, "err", resp.Error.Message)
		}
		log.Debug("control request", args...)
	}
	if w.write(resp) != nil {
		more = false
	}
	return next, more
}

// recovered runs f, turning a panic into CodeInternal (logged with its
// stack): a bug behind one command must not take the PPTP server down.
func recovered(log *slog.Logger, cmd string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if log != nil {
				log.Error("control: command panicked", "cmd", cmd, "panic", r, "stack", string(debug.Stack()))
			}
			err = Errorf(CodeInternal, "%s: internal error (panic: %v)", cmd, r)
		}
	}()
	return f()
}

// wireError is err as it crosses the socket: an *Error keeps its code and
// details, anything else is CodeInternal with its message.
func wireError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

// lineWriter writes JSON lines to a connection, each within writeTimeout.
type lineWriter struct {
	c   net.Conn
	ctx context.Context
	mu  sync.Mutex
}

func (w *lineWriter) write(r Response) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.ctx.Err(); err != nil {
		return err // shutting down: the deadline is already set
	}
	w.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = w.c.Write(append(b, '\n'))
	return err
}

// replyError is the error of a reply that is not OK.
func replyError(r Response) error {
	if r.Error == nil {
		return Errorf(CodeInternal, "control: reply neither ok nor an error")
	}
	return r.Error
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			if i == 0 {
				return "/"
			}
			return path[:i]
		}
	}
	return "."
}
