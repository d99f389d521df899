package pid1

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ttyIn is the console's input, shared by the prompts one after the other: the login
// prompt, a shell session, the wait for Enter. Each takes a reader (take); taking one
// ends the previous (its Read returns io.EOF), and a line editor's goroutine still reading
// the old one lets go within a poll interval. pause stops all reading while the debug
// shell owns the terminal, resume lets the owner go on. Nothing is read ahead: bytes reach only the reader that
// asked for them (or, read just as that reader was ended, its successor).
type ttyIn struct {
	f    *os.File // the console device opened by the init (a pipe in tests)
	fd   int      // f's descriptor, in blocking mode: read only once poll(2) says it is readable
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
	// Not Go's poller with read deadlines: on a serial tty the deadline did not interrupt
	// a read (seen on QEMU's ttyS0), so a read in flight kept the debug shell's first
	// keys. poll(2) with a timeout, then read(2), works on any tty.
	t := &ttyIn{f: f, fd: int(f.Fd()), poll: 200 * time.Millisecond, last: time.Now()}
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
		n, err := t.readSome(p)
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
		if err != nil {
			return 0, err
		}
	}
}

// readSome waits up to t.poll for input and reads it: (0, nil) when none came.
func (t *ttyIn) readSome(p []byte) (int, error) {
	fds := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(t.poll/time.Millisecond))
	if n == 0 || errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("console: poll: %w", err)
	}
	n, err = unix.Read(t.fd, p)
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("console: read: %w", err)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
