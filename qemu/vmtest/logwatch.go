package vmtest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// LogWatch is an io.Writer that keeps everything written to it (a daemon's
// stderr, say) and lets tests wait for a line matching a pattern.
type LogWatch struct {
	mu      sync.Mutex
	buf     []byte
	changed chan struct{} // closed and replaced on every Write
}

// NewLogWatch returns an empty LogWatch.
func NewLogWatch() *LogWatch {
	return &LogWatch{changed: make(chan struct{})}
}

// Write appends p and wakes waiters.
func (w *LogWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	return len(p), nil
}

// String returns everything written so far.
func (w *LogWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// Len is the number of bytes written so far: an offset for WaitFor that
// ignores what was logged before an action.
func (w *LogWatch) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// WaitFor blocks until a complete line written at or after offset from
// matches re, and returns that line; ctx bounds the wait.
func (w *LogWatch) WaitFor(ctx context.Context, re *regexp.Regexp, from int) (string, error) {
	for {
		w.mu.Lock()
		if from > len(w.buf) {
			from = len(w.buf)
		}
		text := string(w.buf[from:])
		changed := w.changed
		w.mu.Unlock()
		if line, ok := matchLine(text, re); ok {
			return line, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("vmtest: waiting for /%s/: %w", re, ctx.Err())
		}
	}
}

// matchLine returns the first complete (newline-terminated) line of text
// that matches re.
func matchLine(text string, re *regexp.Regexp) (string, bool) {
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return "", false
		}
		if re.MatchString(text[:i]) {
			return text[:i], true
		}
		text = text[i+1:]
	}
}
