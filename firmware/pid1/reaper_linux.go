package pid1

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper is PID 1's wait loop. Orphans are re-parented to PID 1 and become zombies until it
// waits for them, so every child of the init, ours or not, is reaped here; the exit status of
// a process we started is handed to whoever started it. Every child the init starts goes
// through start, never through os/exec's Wait, which would race with this loop.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	early   map[int]unix.WaitStatus
}

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan unix.WaitStatus{}, early: map[int]unix.WaitStatus{}}
	sig := make(chan os.Signal, 16)
	signal.Notify(sig, syscall.SIGCHLD)
	go func() {
		for range sig {
			r.reapAll()
		}
	}()
	return r
}

func (r *reaper) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.mu.Lock()
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- ws
		} else {
			r.early[pid] = ws // an orphan, or ours and not registered yet: see start
		}
		r.mu.Unlock()
	}
}

// start starts a process and returns a channel that receives its exit status.
func (r *reaper) start(argv []string, attr *os.ProcAttr) (*os.Process, <-chan unix.WaitStatus, error) {
	ch := make(chan unix.WaitStatus, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := os.StartProcess(argv[0], argv, attr)
	if err != nil {
		return nil, nil, err
	}
	if ws, ok := r.early[p.Pid]; ok {
		delete(r.early, p.Pid)
		ch <- ws
	} else {
		r.waiters[p.Pid] = ch
	}
	// Orphans' statuses are not wanted; drop them so the map stays small.
	for pid := range r.early {
		delete(r.early, pid)
	}
	return p, ch, nil
}

// output runs a command to completion and returns its combined output.
func (r *reaper) output(ctx context.Context, argv []string) ([]byte, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	p, ch, err := r.start(argv, &os.ProcAttr{Files: []*os.File{null, wr, wr}})
	wr.Close()
	if err != nil {
		rd.Close()
		return nil, err
	}
	outc := make(chan []byte, 1)
	go func() {
		var buf []byte
		b := make([]byte, 4096)
		for {
			n, err := rd.Read(b)
			buf = append(buf, b[:n]...)
			if err != nil || len(buf) > 1<<20 {
				break
			}
		}
		rd.Close()
		outc <- buf
	}()
	var ws unix.WaitStatus
	select {
	case ws = <-ch:
	case <-ctx.Done():
		p.Kill()
		ws = <-ch
	}
	out := <-outc
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return out, fmt.Errorf("%s: %s", argv[0], describeStatus(ws))
	}
	return out, nil
}

func describeStatus(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}
