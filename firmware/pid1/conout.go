package pid1

import (
	"bytes"
	"io"
	"sync"
)

// conOut is the console's output. Until the first prompt it shows every log line, as the
// boot has always done (the firmware tests wait for some of them). From the first prompt
// on, log lines below WARN (the init's and boxd's, which both reach the console through
// the init's ring) stay off the console, so that they do not run into what the operator
// types; they still go to the ring and the kernel log, and `log follow` or the debug shell
// shows them all again while it runs. Notices (Write: the ready line, the WAN address, a
// config banner) always show.
//
// While a prompt is open its terminal is the sink: a line lands above the prompt and the
// line being typed, which the terminal then redraws.
type conOut struct {
	mu    sync.Mutex
	raw   io.Writer // the console device
	sink  io.Writer // the open prompt's terminal; nil: raw
	quiet bool      // a prompt has been shown
	loud  int       // commands showing every line (log follow, the debug shell)
	crlf  bool      // the tty is in raw mode: "\n" goes out as "\r\n"
}

// Write writes a notice: always shown.
func (c *conOut) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(p)
	return len(p), nil
}

// put writes p to the sink or the raw device; c.mu is held.
func (c *conOut) put(p []byte) {
	switch {
	case c.sink != nil:
		c.sink.Write(p)
	case c.crlf:
		c.raw.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")))
	default:
		c.raw.Write(p)
	}
}

// logLine writes one log line (with its newline) if the console shows it now.
func (c *conOut) logLine(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quiet && c.loud == 0 && !Important(p) {
		return
	}
	c.put(p)
}

// logWriter is the ring's tee to the console: each Write is one line.
func (c *conOut) logWriter() io.Writer { return logLineWriter{c} }

type logLineWriter struct{ c *conOut }

func (w logLineWriter) Write(p []byte) (int, error) {
	w.c.logLine(p)
	return len(p), nil
}

// setSink makes w (a prompt's terminal) receive what is written; nil: the raw device.
// The first sink makes the console quiet.
func (c *conOut) setSink(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sink = w
	if w != nil {
		c.quiet = true
	}
}

// setRaw tells the writer whether the tty is in raw mode (no output processing).
func (c *conOut) setRaw(on bool) {
	c.mu.Lock()
	c.crlf = on
	c.mu.Unlock()
}

// setQuiet sets the quiet mode (a prompt is shown) without a sink.
func (c *conOut) setQuiet() {
	c.mu.Lock()
	c.quiet = true
	c.mu.Unlock()
}

// isQuiet reports whether log lines below WARN stay off the console now.
func (c *conOut) isQuiet() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.quiet && c.loud == 0
}

// showAll makes every log line show until the returned function is called.
func (c *conOut) showAll() (done func()) {
	c.mu.Lock()
	c.loud++
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.loud--
			c.mu.Unlock()
		})
	}
}

// Important reports whether a log line is at level WARN or above: the slog text format's
// first "level=" field (the init's lines and boxd's alike) is WARN or ERROR (or WARN+2 and
// the like). A line without a level (a stray print) is not.
func Important(line []byte) bool {
	i := bytes.Index(line, []byte("level="))
	if i < 0 || (i > 0 && line[i-1] != ' ') {
		return false
	}
	v := line[i+len("level="):]
	return bytes.HasPrefix(v, []byte("WARN")) || bytes.HasPrefix(v, []byte("ERROR"))
}
