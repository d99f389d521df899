package pid1

import (
	"bytes"
	"io"
	"sync"
)

// Ring keeps the last lines written to it, for the console's "log" command. It is an
// io.Writer; lines are split at '\n' and a line longer than MaxLine is cut.
type Ring struct {
	mu      sync.Mutex
	lines   []string
	next    int
	full    bool
	partial []byte
	// Tee, if set, also receives every complete line (with its newline).
	Tee io.Writer
}

// MaxLine is the longest line the ring keeps.
const MaxLine = 1024

// NewRing returns a ring holding n lines.
func NewRing(n int) *Ring { return &Ring{lines: make([]string, n)} }

// Write implements io.Writer.
func (r *Ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.partial = append(r.partial, p...)
			if len(r.partial) > MaxLine {
				r.add(r.partial[:MaxLine])
				r.partial = r.partial[:0]
			}
			break
		}
		line := append(r.partial, p[:i]...)
		if len(line) > MaxLine {
			line = line[:MaxLine]
		}
		r.add(line)
		r.partial = r.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (r *Ring) add(line []byte) {
	s := string(line)
	r.lines[r.next] = s
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	if r.Tee != nil {
		r.Tee.Write(append([]byte(s), '\n'))
	}
}

// Lines returns the kept lines, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}

// PrefixWriter writes each complete line it receives to W with Prefix in front, in one
// Write call per line, so that lines from several services do not interleave mid-line.
type PrefixWriter struct {
	Prefix  string
	W       io.Writer
	mu      sync.Mutex
	partial []byte
}

// Write implements io.Writer.
func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			if len(p.partial) > MaxLine {
				p.W.Write(append([]byte(p.Prefix), append(p.partial[:MaxLine:MaxLine], '\n')...))
				p.partial = p.partial[:0]
			}
			return n, nil
		}
		line := append([]byte(p.Prefix), p.partial...)
		line = append(line, b[:i+1]...)
		p.partial = p.partial[:0]
		if _, err := p.W.Write(line); err != nil {
			return n, err
		}
		b = b[i+1:]
	}
}

// syncWriter serialises writes to one destination (the console).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
