package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// trace is a trace running over the control socket, its lines collected.
type trace struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	lines  []string
}

// startTrace follows the logins f selects until stop.
func startTrace(ctx context.Context, c *control.Client, f control.TraceFilter) *trace {
	ctx, cancel := context.WithCancel(ctx)
	tr := &trace{cancel: cancel, done: make(chan error, 1)}
	go func() {
		tr.done <- c.Trace(ctx, f, func(ev control.TraceEvent) error {
			tr.mu.Lock()
			tr.lines = append(tr.lines, fmt.Sprintf("%s #%d %-7s %-4s %s", ev.Time.Format("15:04:05.000"), ev.CallID, ev.Layer, ev.Dir, ev.Text))
			tr.mu.Unlock()
			return nil
		})
	}()
	return tr
}

// stop ends the trace and returns its lines, logged.
func (tr *trace) stop(t *testing.T) string {
	t.Helper()
	tr.cancel()
	if err := <-tr.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("trace: %v", err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := strings.Join(tr.lines, "\n")
	t.Logf("trace:\n%s", out)
	return out
}
