package tun

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
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

// Open creates (or attaches to) the single-queue TUN device name, plain
// (no offloads). The caller sets its addresses, MTU and routes (pkg/netcfg).
func Open(name string) (Device, error) {
	return openQueue(name, unix.IFF_TUN|unix.IFF_NO_PI, false)
}

// OpenOffload is Open with offloads (IFF_VNET_HDR, TSO/USO reads and
// coalesced writes; see the package comment), or plain when the kernel
// refuses them (Offloaded tells).
func OpenOffload(name string) (Device, error) {
	return openQueue(name, unix.IFF_TUN|unix.IFF_NO_PI, true)
}

// OpenQueues creates (or attaches to) the TUN device name with n queues
// (IFF_MULTI_QUEUE, n ≥ 1), plain. Each queue is a Device of its own: the
// kernel spreads the packets it routes to the device over the queues by
// flow hash, and a packet written to any queue enters the stack. Give each
// queue its own reader goroutine. The device goes away when every queue
// is closed (unless made persistent elsewhere). A persistent device made
// without multi_queue (ip tuntap add ... mode tun) refuses the flag: then
// it is opened with the one queue it has.
func OpenQueues(name string, n int) ([]Device, error) {
	return openQueues(name, n, false)
}

// OpenQueuesOffload is OpenQueues with offloads on every queue, or plain
// queues when the kernel refuses them for the first (Offloaded tells).
// IFF_VNET_HDR and the offloads are the device's, not a queue's: every
// queue is opened alike.
func OpenQueuesOffload(name string, n int) ([]Device, error) {
	return openQueues(name, n, true)
}

func openQueues(name string, n int, offload bool) ([]Device, error) {
	if n < 1 {
		return nil, fmt.Errorf("tun: open %s: %d queues", name, n)
	}
	qs := make([]Device, 0, n)
	for range n {
		d, err := openQueue(name, unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_MULTI_QUEUE, offload)
		if len(qs) == 0 && errors.Is(err, unix.EINVAL) {
			one, err := openQueue(name, unix.IFF_TUN|unix.IFF_NO_PI, offload)
			if err != nil {
				return nil, err
			}
			return []Device{one}, nil
		}
		if err == nil && len(qs) > 0 && Offloaded(d) != Offloaded(qs[0]) {
			d.Close()
			err = fmt.Errorf("tun: open %s: queue %d offloaded %v, queue 0 %v", name, len(qs), Offloaded(d), Offloaded(qs[0]))
		}
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, err
		}
		name = d.Name() // the kernel's name when name was a pattern ("tun%d")
		offload = Offloaded(d)
		qs = append(qs, d)
	}
	return qs, nil
}

// openQueue attaches one queue with flags; with offload it asks for
// IFF_VNET_HDR and the TCP offloads first and falls back to a plain queue
// when the kernel refuses either.
func openQueue(name string, flags uint16, offload bool) (Device, error) {
	if offload {
		d, err := attachOffload(name, flags)
		if err == nil || !errors.Is(err, errRefused) {
			return d, err
		}
	}
	fd, kname, err := attachFD(name, flags)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tun: open %s: %w", name, err)
	}
	return &fileDevice{f: f, rc: rc, name: kname}, nil
}

// errRefused: the kernel took the queue but not IFF_VNET_HDR or the
// offloads; openQueue opens it plain.
var errRefused = errors.New("offloads refused")

// tcpOffloads are the offloads a queue must take to be opened with
// IFF_VNET_HDR (wireguard-go asks for them again, and for USO4|USO6
// where the kernel has them, Linux 6.2).
const tcpOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6

// attachOffload attaches a queue with IFF_VNET_HDR and the offloads and
// wraps it in wireguard-go's device.
func attachOffload(name string, flags uint16) (Device, error) {
	fd, kname, err := attachFD(name, flags|unix.IFF_VNET_HDR)
	if errors.Is(err, unix.EINVAL) && flags&unix.IFF_MULTI_QUEUE == 0 {
		return nil, fmt.Errorf("%w: %w", errRefused, err)
	}
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tcpOffloads); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: TUNSETOFFLOAD: %w", errRefused, err)
	}
	// From here on wireguard-go owns fd (an os.File of its own): on an
	// error the file's finalizer closes it. It repeats the ioctls that
	// just succeeded, so it does not fail in practice.
	d, _, err := wgtun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		return nil, fmt.Errorf("tun: open %s: %w", kname, err)
	}
	return &offloadDevice{wg: d, name: kname}, nil
}

// attachFD opens /dev/net/tun and attaches it to the device name with flags
// (TUNSETIFF, Documentation/networking/tuntap.rst): a non-blocking,
// close-on-exec descriptor and the device's name.
func attachFD(name string, flags uint16) (int, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("tun: open %s: %w", name, &os.PathError{Op: "open", Path: "/dev/net/tun", Err: err})
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("tun: open %s: %w", name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("tun: open %s: TUNSETIFF: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("tun: open %s: %w", name, err)
	}
	return fd, ifr.Name(), nil
}

// Read reads one packet: a plain TUN read returns exactly one.
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

// offloadDevice is one queue opened with IFF_VNET_HDR and offloads,
// wireguard-go's device adapted to Device: Write counts packets (not
// bytes), errors map to ErrClosed and ErrDropped.
type offloadDevice struct {
	wg   wgtun.Device
	name string
}

// Read reads one packet from the kernel (into wireguard-go's own 64 KiB
// buffer) and splits it into bufs: a super-packet into its segments, each
// with its IP and TCP or UDP checksum computed; a CHECKSUM_PARTIAL packet
// gets its checksum finished.
func (d *offloadDevice) Read(bufs [][]byte, sizes []int, offset int) (n int, err error) {
	defer func() {
		// wireguard-go's split checks that there are enough buffers, not
		// that each is long enough for a segment: one longer than our
		// buffers (a route MTU above the device's) indexes past the end.
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w: %s: a segment larger than the buffers: %v", ErrDropped, d.name, r)
		}
	}()
	n, err = d.wg.Read(bufs, sizes, offset)
	if err == nil {
		return n, nil
	}
	var pe *fs.PathError
	switch {
	case errors.Is(err, os.ErrClosed):
		return 0, ErrClosed
	case errors.As(err, &pe):
		return 0, fmt.Errorf("tun: %s: %w", d.name, err) // the read itself failed
	}
	// The packet was read but not split (too many segments, a packet
	// larger than bufs[0], a virtio-net header it does not take).
	return max(n, 0), fmt.Errorf("%w: %s: %w", ErrDropped, d.name, err)
}

// Write coalesces the packets of each TCP and UDP flow in bufs whose
// checksums are right (GRO) and writes each result with its virtio-net
// header in the Headroom in front.
func (d *offloadDevice) Write(bufs [][]byte, offset int) (int, error) {
	if offset < Headroom {
		return 0, fmt.Errorf("tun: %s: write offset %d, need %d for the virtio-net header", d.name, offset, Headroom)
	}
	if len(bufs) == 0 {
		return 0, nil
	}
	if _, err := d.wg.Write(bufs, offset); err != nil { // n counts bytes
		if errors.Is(err, os.ErrClosed) {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("tun: %s: %w", d.name, err)
	}
	return len(bufs), nil
}

func (d *offloadDevice) BatchSize() int { return d.wg.BatchSize() }
func (d *offloadDevice) Name() string   { return d.name }
func (d *offloadDevice) Close() error   { return d.wg.Close() }
