package cli

import (
	"io"
	"sync"
)

const (
	keyInterrupt = 3 // Ctrl-C
	// keyClear is what Ctrl-C becomes at the prompt: x/term's ReadLine
	// would end on Ctrl-C (io.EOF); BEL (Ctrl-G) reaches the completion
	// callback instead, which clears the line.
	keyClear     = 7
	keyEraseLine = 21 // Ctrl-U
	// maxTypeAhead bounds what is kept of the input typed while a command runs.
	maxTypeAhead = 4096
)

// input reads the terminal all the time, in its own goroutine, so that a
// Ctrl-C typed while a command runs reaches that command (its interrupt
// function) even though nothing reads lines then. Everything else is kept
// for the next ReadLine (type-ahead).
type input struct {
	src   io.Reader
	ready chan struct{} // a value when buf or err changed
	done  chan struct{} // closed: Read returns io.EOF

	mu        sync.Mutex
	buf       []byte
	err       error
	interrupt func() // the running command's cancel; nil at the prompt
	// endLine: Ctrl-C also ends the line being read, empty (a question
	// the running command asks is answered with nothing).
	endLine bool
}

func newInput(src io.Reader, done chan struct{}) *input {
	in := &input{src: src, ready: make(chan struct{}, 1), done: done}
	go in.pump()
	return in
}

func (in *input) pump() {
	b := make([]byte, 256)
	for {
		n, err := in.src.Read(b)
		in.mu.Lock()
		for _, c := range b[:n] {
			if c == keyInterrupt {
				if in.interrupt != nil {
					in.interrupt()
					if in.endLine {
						in.buf = append(in.buf, keyEraseLine, '\r')
					}
					continue
				}
				c = keyClear
			}
			if len(in.buf) < maxTypeAhead {
				in.buf = append(in.buf, c)
			}
		}
		if err != nil {
			in.err = err
		}
		in.mu.Unlock()
		select {
		case in.ready <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// setInterrupt makes Ctrl-C call f (nil: Ctrl-C clears the prompt's
// line); with endLine it also ends the line being read, empty.
func (in *input) setInterrupt(f func(), endLine bool) {
	in.mu.Lock()
	in.interrupt, in.endLine = f, endLine
	in.mu.Unlock()
}

func (in *input) Read(p []byte) (int, error) {
	for {
		in.mu.Lock()
		if len(in.buf) > 0 {
			n := copy(p, in.buf)
			in.buf = in.buf[n:]
			in.mu.Unlock()
			return n, nil
		}
		err := in.err
		in.mu.Unlock()
		if err != nil {
			return 0, err
		}
		select {
		case <-in.ready:
		case <-in.done:
			return 0, io.EOF
		}
	}
}
