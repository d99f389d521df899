package controltest

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Serve serves h on a socket in a temporary directory until the test
// ends, and returns the socket's path once it accepts connections.
func Serve(t testing.TB, h control.Handler) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "boxd.sock")
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, path, h, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control.Serve: %v", err)
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			return path
		}
		if time.Now().After(deadline) {
			t.Fatalf("control.Serve does not listen on %s: %v", path, err)
		}
	}
}
