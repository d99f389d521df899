package tun

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileDevice is one queue of a Linux TUN device: a non-blocking file
// descriptor on /dev/net/tun attached with TUNSETIFF, read and written
// through the Go runtime's poller (os.NewFile), so a blocked Read parks its
// goroutine rather than a thread and Close wakes it.
type fileDevice struct {
	f    *os.File
	rc   syscall.RawConn
	name string
}

// Open creates (or attaches to) the single-queue TUN device name. The caller
// sets its addresses, MTU and routes (pkg/netcfg).
func Open(name string) (Device, error) {
	d, err := attach(name, unix.IFF_TUN|unix.IFF_NO_PI)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// OpenQueues creates (or attaches to) the TUN device name with n queues
// (IFF_MULTI_QUEUE, n ≥ 1). Each queue is a Device of its own: the kernel
// spreads the packets it routes to the device over the queues by flow
// hash, and a packet written to any queue enters the stack. Give each
// queue its own reader goroutine. The device goes away when every queue
// is closed (unless made persistent elsewhere). A persistent device made
// without multi_queue (ip tuntap add ... mode tun) refuses the flag: then
// it is opened with the one queue it has.
func OpenQueues(name string, n int) ([]Device, error) {
	if n < 1 {
		return nil, fmt.Errorf("tun: open %s: %d queues", name, n)
	}
	qs := make([]Device, 0, n)
	for range n {
		d, err := attach(name, unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_MULTI_QUEUE)
		if len(qs) == 0 && errors.Is(err, unix.EINVAL) {
			one, err := attach(name, unix.IFF_TUN|unix.IFF_NO_PI)
			if err != nil {
				return nil, err
			}
			return []Device{one}, nil
		}
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, err
		}
		name = d.name // the kernel's name when name was a pattern ("tun%d")
		qs = append(qs, d)
	}
	return qs, nil
}

// attach opens /dev/net/tun and attaches it to the device name with flags
// (TUNSETIFF, Documentation/networking/tuntap.rst).
func attach(name string, flags uint16) (*fileDevice, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tun: open %s: %w", name, &os.PathError{Op: "open", Path: "/dev/net/tun", Err: err})
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: open %s: %w", name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: open %s: TUNSETIFF: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tun: open %s: %w", name, err)
	}
	return &fileDevice{f: f, rc: rc, name: ifr.Name()}, nil
}

// Read reads one packet: a TUN read returns exactly one (without
// IFF_VNET_HDR and GSO, which this device does not ask for).
func (d *fileDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	n, err := d.f.Read(bufs[0][offset:])
	if err != nil {
		return 0, d.mapErr(err)
	}
	sizes[0] = n
	return 1, nil
}

func (d *fileDevice) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		if _, err := d.f.Write(b[offset:]); err != nil {
			return i, d.mapErr(err)
		}
	}
	return len(bufs), nil
}

func (d *fileDevice) mapErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("tun: %s: %w", d.name, err)
}

func (d *fileDevice) BatchSize() int { return 1 }
func (d *fileDevice) Name() string   { return d.name }
func (d *fileDevice) Close() error   { return d.f.Close() }
