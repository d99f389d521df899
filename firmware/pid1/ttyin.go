package pid1

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// ttyIn is the console's input, shared by the prompts one after the other: the login
// prompt, a shell session, the wait for Enter. Each takes a reader (take); taking one
// ends the previous (its Read returns io.EOF), and a line editor's goroutine still reading
// the old one lets go within a poll interval. pause stops all reading while the debug
// shell owns the terminal, resume lets the owner go on. Nothing is read ahead: bytes reach only the reader that
// asked for them (or, read just as that reader was ended, its successor).
type ttyIn struct {
	f    *os.File // a pollable file (the console device opened by the init, a pipe in tests)
	poll time.Duration

	mu      sync.Mutex
	cond    *sync.Cond
	owner   *ttyReader // the reader that may read; nil: none (paused or between prompts)
	reading bool       // a Read is in f.Read
	paused  bool       // the debug shell reads the terminal
	stash   []byte     // read for an ended reader: the next one's
	last    time.Time  // the last input
}

func newTTYIn(f *os.File) *ttyIn {
	t := &ttyIn{f: f, poll: 200 * time.Millisecond, last: time.Now()}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// ttyReader is one prompt's view of the input.
type ttyReader struct {
	t     *ttyIn
	ended bool // guarded by t.mu
}

// take ends the current reader and returns a new one that owns the input.
func (t *ttyIn) take() *ttyReader {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.owner != nil {
		t.owner.ended = true
	}
	r := &ttyReader{t: t}
	t.owner = r
	t.last = time.Now()
	t.cond.Broadcast()
	return r
}

// end ends r (its Read returns io.EOF) if it still owns the input.
func (r *ttyReader) end() {
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	r.ended = true
	if t.owner == r {
		t.owner = nil
	}
	t.cond.Broadcast()
}

// pause stops reading and waits until no read is in flight, so that the debug shell reads
// the terminal alone; the owner keeps the input, its reads wait until resume.
func (t *ttyIn) pause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paused = true
	for t.reading {
		t.cond.Wait()
	}
}

// resume lets the owner read again.
func (t *ttyIn) resume() {
	t.mu.Lock()
	t.paused = false
	t.last = time.Now()
	t.cond.Broadcast()
	t.mu.Unlock()
}

// idle is how long there has been no input.
func (t *ttyIn) idle(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Sub(t.last)
}

// touch counts as input (a command just ended: the idle time starts again).
func (t *ttyIn) touch() {
	t.mu.Lock()
	t.last = time.Now()
	t.mu.Unlock()
}

// Read reads the console for r, returning io.EOF once r is ended; it waits while the
// input is paused.
func (r *ttyReader) Read(p []byte) (int, error) {
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		if r.ended {
			return 0, io.EOF
		}
		if t.owner != r || t.reading || t.paused {
			t.cond.Wait()
			continue
		}
		if len(t.stash) > 0 {
			n := copy(p, t.stash)
			t.stash = t.stash[n:]
			return n, nil
		}
		t.reading = true
		t.mu.Unlock()
		t.f.SetReadDeadline(time.Now().Add(t.poll))
		n, err := t.f.Read(p)
		t.mu.Lock()
		t.reading = false
		t.cond.Broadcast()
		if n > 0 {
			t.last = time.Now()
		}
		if r.ended || t.owner != r {
			if n > 0 && t.owner != nil {
				t.stash = append(t.stash, p[:n]...)
			}
			return 0, io.EOF
		}
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
	}
}
