package vmtest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLogWatch(t *testing.T) {
	w := NewLogWatch()
	w.Write([]byte("level=INFO msg=start\nlevel=INFO msg=\"session up\" user=test\n"))
	mark := w.Len()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	line, err := w.WaitFor(ctx, regexp.MustCompile(`session up`), 0)
	if err != nil || !strings.Contains(line, "user=test") {
		t.Fatalf("WaitFor old line: %q, %v", line, err)
	}
	// After mark, only new lines count; a partial line does not match yet.
	go func() {
		w.Write([]byte("level=INFO msg=\"session do"))
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("wn\" user=test\n"))
	}()
	line, err = w.WaitFor(ctx, regexp.MustCompile(`session (up|down)`), mark)
	if err != nil || !strings.Contains(line, "session down") {
		t.Fatalf("WaitFor new line: %q, %v", line, err)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if _, err := w.WaitFor(short, regexp.MustCompile(`never`), 0); err == nil {
		t.Fatal("WaitFor for an absent line returned no error")
	}
	if got := w.String(); !strings.HasPrefix(got, "level=INFO msg=start\n") {
		t.Fatalf("String = %q", got)
	}
}
