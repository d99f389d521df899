package rig

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// Boxd is a boxd process running inside a namespace.
type Boxd struct {
	// Log holds everything boxd wrote to stderr (slog text lines).
	Log     *vmtest.LogWatch
	cmd     *exec.Cmd
	sock    string // control socket
	logFile *os.File
	exited  chan struct{}
	waitErr error
}

// readyLine is what boxd logs once it listens on TCP 1723.
var readyLine = regexp.MustCompile(`msg="pptp server ready"`)

// StartBoxd runs `boxd -config cfgPath` in ns (its control socket in dir),
// logging to dir/boxd.log and to Log, and waits for it to be ready.
func StartBoxd(ctx context.Context, ns *netns.NS, bin, cfgPath, dir string) (*Boxd, error) {
	f, err := os.OpenFile(filepath.Join(dir, "boxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("rig: boxd log: %w", err)
	}
	b := &Boxd{Log: vmtest.NewLogWatch(), logFile: f, exited: make(chan struct{}), sock: filepath.Join(dir, "boxd.sock")}
	b.cmd = ns.Command(context.Background(), bin, "-config", cfgPath, "-control", b.sock)
	b.cmd.Stdout = io.MultiWriter(f, b.Log)
	b.cmd.Stderr = b.cmd.Stdout
	vmtest.KillWithParent(b.cmd)
	if err := b.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("rig: start boxd: %w", err)
	}
	go func() {
		b.waitErr = b.cmd.Wait()
		f.Close()
		close(b.exited)
	}()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-b.exited:
			cancel()
		case <-wctx.Done():
		}
	}()
	if _, err := b.Log.WaitFor(wctx, readyLine, 0); err != nil {
		if b.Alive() {
			// A hung boxd: SIGQUIT makes the Go runtime print every goroutine's stack.
			b.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-b.exited:
			case <-time.After(2 * time.Second):
			}
		}
		b.Kill()
		return nil, fmt.Errorf("rig: boxd not ready (exit: %v): %w\n%s", b.waitErr, err, b.Log.String())
	}
	return b, nil
}

// Client is boxd's typed control API over its socket (what boxctl uses).
func (b *Boxd) Client() *control.Client { return control.NewClient(b.sock) }

// Stats is boxd's counters (the API's Stats).
func (b *Boxd) Stats(ctx context.Context) (control.StatsReply, error) {
	st, err := b.Client().Stats(ctx)
	if err != nil {
		return st, fmt.Errorf("rig: boxd stats: %w", err)
	}
	return st, nil
}

// PID is boxd's process ID (ip netns exec execs it).
func (b *Boxd) PID() int { return b.cmd.Process.Pid }

// Alive reports whether boxd is still running.
func (b *Boxd) Alive() bool {
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits up to timeout for boxd to exit; it then
// kills it and reports that it had to.
func (b *Boxd) Stop(timeout time.Duration) error {
	if !b.Alive() {
		return b.exitErr()
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("rig: SIGTERM boxd %d: %w", b.PID(), err)
	}
	select {
	case <-b.exited:
		return b.exitErr()
	case <-time.After(timeout):
		b.Kill()
		return fmt.Errorf("rig: boxd %d ignored SIGTERM for %v; killed", b.PID(), timeout)
	}
}

// Kill kills boxd by PID and waits for it.
func (b *Boxd) Kill() {
	if b.Alive() {
		b.cmd.Process.Kill()
		<-b.exited
	}
}

func (b *Boxd) exitErr() error {
	<-b.exited
	if b.waitErr != nil {
		return fmt.Errorf("rig: boxd exited: %w", b.waitErr)
	}
	return nil
}

// Exited is closed when boxd has exited.
func (b *Boxd) Exited() <-chan struct{} { return b.exited }
