package control

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "s", "boxd.sock")
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, path, func(ctx context.Context, req Request) (any, error) {
			switch req.Cmd {
			case "echo":
				return req.Args, nil
			case "fail":
				return nil, errors.New("it failed")
			}
			return nil, errors.New("unknown command " + req.Cmd)
		}, nil)
	}()
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	var got []string
	var err error
	for i := 0; i < 50; i++ { // the listener comes up asynchronously
		if err = Call(cctx, path, Request{Cmd: "echo", Args: []string{"a", "b"}}, &got); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || len(got) != 2 || got[1] != "b" {
		t.Fatalf("echo: %v %v", got, err)
	}
	if err := Call(cctx, path, Request{Cmd: "fail"}, nil); err == nil || err.Error() != "it failed" {
		t.Fatalf("fail: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
