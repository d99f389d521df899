package pid1

import (
	"io"
	"os"
	"testing"
	"time"
)

func pipeTTY(t *testing.T) (*ttyIn, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	in := newTTYIn(r)
	in.poll = 10 * time.Millisecond
	return in, w
}

func readAsync(r io.Reader) <-chan string {
	ch := make(chan string, 1)
	go func() {
		b := make([]byte, 64)
		n, err := r.Read(b)
		if err != nil {
			ch <- "err:" + err.Error()
			return
		}
		ch <- string(b[:n])
	}()
	return ch
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("read did not return")
		return ""
	}
}

// TestTTYIn: a new reader ends the old one (whose blocked Read returns EOF, taking no
// input), input goes to the owner, pause ends reading until a reader is taken again.
func TestTTYIn(t *testing.T) {
	in, keys := pipeTTY(t)
	a := in.take()
	aRead := readAsync(a)
	time.Sleep(30 * time.Millisecond) // a is in its read
	b := in.take()
	if got := recv(t, aRead); got != "err:EOF" {
		t.Fatalf("old reader: %q, want EOF", got)
	}
	keys.Write([]byte("show\r"))
	if got := recv(t, readAsync(b)); got != "show\r" {
		t.Fatalf("new reader: %q", got)
	}
	bRead := readAsync(b)
	time.Sleep(30 * time.Millisecond) // b is in its read
	in.pause()
	// Paused: the input is the debug shell's; b's read waits.
	buf := make([]byte, 8)
	keys.Write([]byte("ls\n"))
	keys.Close() // nothing more comes; the "shell" reads what there is
	if n, _ := in.f.Read(buf); string(buf[:n]) != "ls\n" {
		t.Fatalf("the shell read %q", buf[:n])
	}
	select {
	case got := <-bRead:
		t.Fatalf("a paused reader read %q", got)
	case <-time.After(50 * time.Millisecond):
	}
	c := in.take()
	if got := recv(t, bRead); got != "err:EOF" {
		t.Fatalf("paused reader after take: %q", got)
	}
	in.resume()
	if got := recv(t, readAsync(c)); got != "err:EOF" {
		t.Fatalf("reader at the input's end: %q", got)
	}
	c.end()
	if got := recv(t, readAsync(c)); got != "err:EOF" {
		t.Fatalf("ended reader: %q", got)
	}
	if in.idle(time.Now()) > time.Second {
		t.Fatalf("idle %s after input", in.idle(time.Now()))
	}
}
