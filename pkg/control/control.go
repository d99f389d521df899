// Package control is the local control socket between boxd and its CLI
// (boxctl, the serial console). One request per line, one JSON response per
// line, over a Unix stream socket that only root can open.
//
//	→ {"cmd":"sessions"}
//	← {"ok":true,"data":[...]}
//	→ {"cmd":"disconnect","args":["alice"]}
//	← {"ok":false,"error":"no session for user \"alice\""}
//
// The commands boxd serves (Commands) and the types of their replies
// (Session, Stats) are in reply.go, so a client decodes them without
// importing the daemon's packages.
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
	"sync"
	"time"
)

// DefaultSocket is where boxd listens unless told otherwise.
const DefaultSocket = "/run/pptpbox/boxd.sock"

// Request is one command.
type Request struct {
	Cmd  string   `json:"cmd"`
	Args []string `json:"args,omitempty"`
}

// Response carries the result of one command.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// Handler answers one request. The value it returns is encoded as Data.
type Handler func(ctx context.Context, req Request) (any, error)

// maxLine bounds a request line: commands are short, and a client must not
// make the daemon buffer without limit.
const maxLine = 64 * 1024

// Serve listens on path until ctx ends. A stale socket file is replaced.
func Serve(ctx context.Context, path string, h Handler, log *slog.Logger) error {
	if err := os.MkdirAll(dirOf(path), 0o700); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control: %w", err)
	}
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

func serveConn(ctx context.Context, c net.Conn, h Handler, log *slog.Logger) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), maxLine)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else if v, err := h(ctx, req); err != nil {
			resp.Error = err.Error()
		} else {
			resp.OK = true
			if v != nil {
				b, err := json.Marshal(v)
				if err != nil {
					resp.OK, resp.Error = false, "encode: "+err.Error()
				}
				resp.Data = b
			}
		}
		if log != nil {
			log.Debug("control request", "cmd", req.Cmd, "args", req.Args, "ok", resp.OK, "err", resp.Error)
		}
		if err := enc.Encode(&resp); err != nil {
			return
		}
	}
}

// Call sends one request to the socket at path and decodes Data into out (if non-nil).
func Call(ctx context.Context, path string, req Request, out any) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("control: %w (is boxd running?)", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(&req); err != nil {
		return fmt.Errorf("control: send: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("control: receive: %w", err)
	}
	if !resp.OK {
		return errors.New(resp.Error)
	}
	if out != nil && len(resp.Data) > 0 {
		return json.Unmarshal(resp.Data, out)
	}
	return nil
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
