package pid1

import (
	"bytes"
	"strings"
	"sync"
)

// lastLine keeps the last non-empty line written to it (a service's last words: boxd prints
// its fatal error last), capped at MaxLine bytes.
type lastLine struct {
	mu      sync.Mutex
	partial []byte
	line    string
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if s := strings.TrimSpace(string(l.partial[:i])); s != "" {
			l.line = s
		}
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > MaxLine {
		l.partial = l.partial[:0] // a runaway line: its start is gone, drop it
	}
	if len(l.line) > MaxLine {
		l.line = l.line[:MaxLine]
	}
	return len(p), nil
}

func (l *lastLine) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}
