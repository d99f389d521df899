package netnstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace (ip netns add) that the test removes at
// cleanup. Named namespaces can host child processes (ip netns exec) and
// in-process work on locked threads at the same time.
type NS struct {
	Name string
}

// NewNS creates namespace "pptpbox-<name>-<pid>" with lo up; t's cleanup
// deletes it.
func NewNS(t testing.TB, name string) *NS {
	t.Helper()
	n := &NS{Name: fmt.Sprintf("pptpbox-%s-%d", name, os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("netnstest: ip netns add %s: %v: %s", n.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("netnstest: ip netns del %s: %v: %s", n.Name, err, out)
		}
	})
	if _, err := n.Run("ip", "link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	return n
}

// Cmd is exec.Command run inside the namespace.
func (n *NS) Cmd(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs a command in the namespace and returns its combined output.
func (n *NS) Run(name string, args ...string) (string, error) {
	return Cmd("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on an OS thread moved into the namespace. Sockets fn opens
// stay in the namespace whatever goroutine uses them later; goroutines fn
// starts run elsewhere. The thread is discarded afterwards.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		f, err := os.Open("/run/netns/" + n.Name)
		if err != nil {
			errc <- fmt.Errorf("netnstest: %w", err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netnstest: setns %s: %w", n.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Go is Do without waiting: fn's error arrives on the returned channel.
func (n *NS) Go(fn func() error) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- n.Do(fn) }()
	return errc
}

// openTap creates tap device name in the namespace and returns its queue.
func (n *NS) openTap(name string) (*os.File, error) {
	return n.openTunTap(name, unix.IFF_TAP|unix.IFF_NO_PI)
}

// OpenTun creates TUN device name (IP packets, no packet info header) in
// the namespace and returns its queue, pollable, so read deadlines work.
// Closing the file deletes the device.
func (n *NS) OpenTun(name string) (*os.File, error) {
	return n.openTunTap(name, unix.IFF_TUN|unix.IFF_NO_PI)
}

func (n *NS) openTunTap(name string, flags uint16) (*os.File, error) {
	var f *os.File
	err := n.Do(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("netnstest: open /dev/net/tun: %w", err)
		}
		var req [unix.IFNAMSIZ + 64]byte
		copy(req[:], name)
		*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = flags
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
			unix.Close(fd)
			return fmt.Errorf("netnstest: TUNSETIFF %s: %w", name, e)
		}
		f = os.NewFile(uintptr(fd), "tun:"+name)
		return nil
	})
	return f, err
}

// Wire is a virtual Ethernet cable between two tap devices in two
// namespaces: frames are copied between the taps' queues. (The test
// kernel has no veth; tap + a copy loop is the portable substitute.)
type Wire struct {
	a, b    *os.File
	mu      sync.Mutex
	plugged bool
	wg      sync.WaitGroup
}

// NewWire creates tap nameA in na and tap nameB in nb, connected. Both
// taps come up with carrier (their queues are attached); t's cleanup
// closes the wire, which deletes the taps.
func NewWire(t testing.TB, na *NS, nameA string, nb *NS, nameB string) *Wire {
	t.Helper()
	a, err := na.openTap(nameA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := nb.openTap(nameB)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	w := &Wire{a: a, b: b, plugged: true}
	w.wg.Add(2)
	go w.copy(a, b)
	go w.copy(b, a)
	t.Cleanup(w.Close)
	return w
}

func (w *Wire) copy(from, to *os.File) {
	defer w.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		w.mu.Lock()
		up := w.plugged
		w.mu.Unlock()
		if up {
			// A full peer queue drops the frame, as a cable would.
			to.Write(buf[:n])
		}
	}
}

// SetPlugged pulls the cable out (false) or plugs it back (true): frames
// stop and both taps lose (or regain) carrier, which netlink reports as
// a link change (TUNSETCARRIER, Linux 5.0+).
func (w *Wire) SetPlugged(on bool) error {
	w.mu.Lock()
	w.plugged = on
	w.mu.Unlock()
	v := 0
	if on {
		v = 1
	}
	var errs []error
	for _, f := range []*os.File{w.a, w.b} {
		rc, err := f.SyscallConn()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var ioErr error
		rc.Control(func(fd uintptr) {
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, unix.TUNSETCARRIER, uintptr(unsafe.Pointer(&v))); e != 0 {
				ioErr = fmt.Errorf("netnstest: TUNSETCARRIER %s: %w", strings.TrimPrefix(f.Name(), "tun:"), e)
			}
		})
		errs = append(errs, ioErr)
	}
	return errors.Join(errs...)
}

// Close stops the copy loops and closes the taps (which deletes them).
func (w *Wire) Close() {
	w.a.Close()
	w.b.Close()
	w.wg.Wait()
}
