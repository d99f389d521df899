package pid1

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// watchdog feeds a hardware watchdog (Documentation/watchdog/watchdog-api.rst) from a
// goroutine of PID 1: when the init hangs or dies, the board resets.
type watchdog struct {
	f       *os.File
	timeout time.Duration
	mu      sync.Mutex
	stopped bool
	done    chan struct{}
}

func openWatchdog(dev string, timeout time.Duration) (*watchdog, error) {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	secs := int(timeout / time.Second)
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.WDIOC_SETTIMEOUT, secs); err != nil {
		// Keep the driver's default timeout rather than run unguarded.
		secs = 0
	}
	w := &watchdog{f: f, timeout: timeout, done: make(chan struct{})}
	go w.feed()
	return w, nil
}

func (w *watchdog) feed() {
	t := time.NewTicker(w.timeout / 4)
	defer t.Stop()
	for {
		w.mu.Lock()
		if w.stopped {
			w.mu.Unlock()
			return
		}
		unix.IoctlGetInt(int(w.f.Fd()), unix.WDIOC_KEEPALIVE)
		w.mu.Unlock()
		select {
		case <-t.C:
		case <-w.done:
			return
		}
	}
}

// hang stops feeding without disarming: the board resets after the timeout. Test only.
func (w *watchdog) hang() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.stopped = true
		close(w.done)
	}
}

// disarm stops the watchdog with the magic close ('V' then close), for a clean power-off.
func (w *watchdog) disarm() {
	w.hang()
	w.f.Write([]byte("V"))
	w.f.Close()
}
