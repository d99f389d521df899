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

func (d *Device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	select {
	case <-d.closed:
		return 0, tun.ErrClosed
	case p := <-d.Inbound:
		n := 0
		for {
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
