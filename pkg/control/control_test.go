package control

import (
	"context"
	"encoding/json"
	"errors"
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
