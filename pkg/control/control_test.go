package control

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestServeAnyHandler: Serve answers with what a Handler returns, its
// plain errors as internal, and leaves the API to NewHandler.
func TestServeAnyHandler(t *testing.T) {
	c := serveHandler(t, func(ctx context.Context, req Request) (any, error) {
		switch req.Cmd {
		case "echo":
			return req.Body, nil
		case "fail":
			return nil, errors.New("it failed")
		}
		return nil, Errorf(CodeBadRequest, "unknown command %s", req.Cmd)
	})
	resps := rawExchange(t, c.Socket, `{"cmd":"echo","body":{"a":["b"]}}`, `{"cmd":"fail"}`, `{"cmd":"x"}`)
	if r := resps[0]; !r.OK || string(r.Data) != `{"a":["b"]}` {
		t.Errorf("echo: %+v %s", r, r.Data)
	}
	if r := resps[1]; r.OK || r.Error.Code != CodeInternal || r.Error.Message != "it failed" {
		t.Errorf("fail: %+v", r.Error)
	}
	if r := resps[2]; r.OK || r.Error.Code != CodeBadRequest {
		t.Errorf("x: %+v", r.Error)
	}
	var v json.RawMessage
	if err := NewClient(c.Socket).exchange(context.Background(), "echo", []int{1, 2}, &v, nil); err != nil || string(v) != "[1,2]" {
		t.Errorf("client echo: %s %v", v, err)
	}
}

// TestListenBeforeServe: once Listen returns, a client's request is taken
// (boxd logs its ready line between the two), answered when
// ServeListener starts, and the socket file goes when ctx ends.
func TestListenBeforeServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl", "boxd.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v, want mode 0600", fi, err)
	}
	got := make(chan error, 1)
	go func() {
		var v json.RawMessage
		got <- NewClient(path).exchange(context.Background(), "echo", 7, &v, nil)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, ln, path, func(ctx context.Context, req Request) (any, error) { return req.Body, nil }, slog.New(slog.DiscardHandler))
	}()
	if err := <-got; err != nil {
		t.Fatalf("request made before ServeListener: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
}
