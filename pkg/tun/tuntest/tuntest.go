// Package tuntest is an in-memory tun.Device for tests: what the code under
// test writes to the device comes out of Outbound, and packets sent to
// Inbound are what the code reads, as if the kernel had routed them.
package tuntest

import (
	"sync"

	"github.com/pptpbox/pptpbox/pkg/tun"
)

// Device is a fake TUN device.
type Device struct {
	Inbound  chan []byte // packets the device yields to Read (the "kernel" sends)
	Outbound chan []byte // packets written to the device (the "kernel" receives)
	name     string
	mu       sync.Mutex // Read's
	pending  []byte     // a packet that did not fit the last Read's buffers
	once     sync.Once
	closed   chan struct{}
}

// New makes a fake device with buffered channels.
func New(name string) *Device {
	return &Device{
		Inbound:  make(chan []byte, 256),
		Outbound: make(chan []byte, 256),
		name:     name,
		closed:   make(chan struct{}),
	}
}

var _ tun.Device = (*Device)(nil)

// Read moves up to len(bufs) queued packets. As with a real device's
// batches, bufs[0] takes the largest: a packet that does not fit a later
// buffer waits for the next Read (one that does not fit bufs[0] is cut).
func (d *Device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.pending
	d.pending = nil
	if p == nil {
		select {
		case <-d.closed:
			return 0, tun.ErrClosed
		case p = <-d.Inbound:
		}
	}
	n := 0
	for {
		if n > 0 && len(p) > len(bufs[n][offset:]) {
			d.pending = p
			return n, nil
		}
		sizes[n] = copy(bufs[n][offset:], p)
		n++
		if n == len(bufs) {
			return n, nil
		}
		select {
		case p = <-d.Inbound:
		default:
			return n, nil
		}
	}
}

func (d *Device) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		p := append([]byte(nil), b[offset:]...)
		select {
		case <-d.closed:
			return i, tun.ErrClosed
		case d.Outbound <- p:
		}
	}
	return len(bufs), nil
}

func (d *Device) BatchSize() int { return 16 }
func (d *Device) Name() string   { return d.name }

func (d *Device) Close() error {
	d.once.Do(func() { close(d.closed) })
	return nil
}
