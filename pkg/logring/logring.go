// Package logring keeps a daemon's recent log lines and hands new ones to
// live followers: an io.Writer placed beside the log's own output (Tee), so
// an operator's "show log" and "show log follow" see what boxd logs
// without a file. Logging never waits for a follower: a follower whose
// buffer is full loses lines, counted (Follower.Dropped).
package logring

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Line is one log line.
type Line struct {
	Time  time.Time
	Level slog.Level
	Text  string // without the newline
}

// Ring holds the last lines written to it. Safe for concurrent use.
type Ring struct {
	mu    sync.Mutex
	lines []Line // circular, len == capacity once full
	next  int    // where the next line goes once full
	size  int
	subs  map[*Follower]struct{}
	now   func() time.Time
}

// New returns a ring that keeps the last size lines (at least 1).
func New(size int) *Ring {
	return &Ring{size: max(size, 1), subs: map[*Follower]struct{}{}, now: time.Now}
}

// Write adds each line of p (slog's text and JSON handlers write one
// record per call). It never fails and never blocks on a follower.
func (r *Ring) Write(p []byte) (int, error) {
	n := len(p)
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if len(line) == 0 {
			continue
		}
		r.add(Line{Time: now, Level: levelOf(line), Text: string(line)})
	}
	return n, nil
}

// add stores l and offers it to the followers; r.mu held.
func (r *Ring) add(l Line) {
	if len(r.lines) < r.size {
		r.lines = append(r.lines, l)
	} else {
		r.lines[r.next] = l
		r.next = (r.next + 1) % r.size
	}
	for f := range r.subs {
		if l.Level < f.min {
			continue
		}
		select {
		case f.c <- l:
		default:
			f.dropped++
		}
	}
}

// Last returns the last n lines, oldest first (n <= 0: all it keeps).
func (r *Ring) Last(n int) []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := make([]Line, 0, len(r.lines))
	all = append(all, r.lines[r.next:]...)
	all = append(all, r.lines[:r.next]...)
	if n > 0 && n < len(all) {
		all = all[len(all)-n:]
	}
	return all
}

// Follower receives the lines written after Follow, at or above its level.
type Follower struct {
	r       *Ring
	c       chan Line
	min     slog.Level
	dropped uint64 // under r.mu
	closed  bool   // under r.mu
}

// Follow starts a follower of the lines at or above min, with room for
// buf lines (at least 1) it has not read yet; more are dropped.
func (r *Ring) Follow(min slog.Level, buf int) *Follower {
	f := &Follower{r: r, c: make(chan Line, max(buf, 1)), min: min}
	r.mu.Lock()
	r.subs[f] = struct{}{}
	r.mu.Unlock()
	return f
}

// C delivers the lines; it is closed by Close.
func (f *Follower) C() <-chan Line { return f.c }

// Dropped is how many lines the follower lost so far for a full buffer.
func (f *Follower) Dropped() uint64 {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	return f.dropped
}

// Close stops the follower and closes C; it may be called more than once.
func (f *Follower) Close() {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	delete(f.r.subs, f)
	close(f.c)
}

// Tee returns a writer that gives each write to r, then to w: the ring
// keeps the line even when w fails or is slow to accept it.
func Tee(r *Ring, w io.Writer) io.Writer { return tee{r, w} }

type tee struct {
	r *Ring
	w io.Writer
}

func (t tee) Write(p []byte) (int, error) {
	t.r.Write(p)
	return t.w.Write(p)
}

// levelOf reads the level of a slog text line ("... level=WARN ...") or a
// JSON one (`"level":"WARN"`); INFO when it has none.
func levelOf(line []byte) slog.Level {
	var v []byte
	if i := bytes.Index(line, []byte("level=")); i >= 0 && (i == 0 || line[i-1] == ' ') {
		v = line[i+len("level="):]
		if j := bytes.IndexByte(v, ' '); j >= 0 {
			v = v[:j]
		}
	} else if i := bytes.Index(line, []byte(`"level":"`)); i >= 0 {
		v = line[i+len(`"level":"`):]
		if j := bytes.IndexByte(v, '"'); j >= 0 {
			v = v[:j]
		}
	}
	var l slog.Level
	if v == nil || l.UnmarshalText(v) != nil {
		return slog.LevelInfo
	}
	return l
}

// Followers is how many followers there are now.
func (r *Ring) Followers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs)
}
