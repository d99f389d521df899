// Package tun is the TUN device the VPN pool is routed to. Its interface is
// batch-shaped with headroom (wireguard-go's tun.Device): a read fills
// bufs[i][offset:], leaving offset bytes in front of each packet so that the
// PPP, MPPE and GRE headers can be written in place; a write takes packets at
// bufs[i][offset:].
//
// The device is opened with golang.org/x/sys/unix directly (TUNSETIFF on
// /dev/net/tun), one file descriptor per queue: OpenQueues asks for
// IFF_MULTI_QUEUE so that each core's reader has a queue of its own (the
// kernel spreads flows over the queues by hash). It replaced songgao/water,
// which can set IFF_MULTI_QUEUE too (issue 13 thought not): what water
// gave is 60 lines here, and without it boxd is 10 KiB smaller and has one
// dependency less; the descriptors also get O_CLOEXEC, which water's lack
// (no child of boxd's holds a queue, should boxd ever start one). The
// descriptors are non-blocking and go through the runtime poller
// (os.NewFile), as in wireguard-go's tun package: a blocked Read parks its
// goroutine, and Close wakes it with ErrClosed.
//
// # Offloads
//
// Open and OpenQueues give plain queues: one packet per read and per write
// system call. OpenOffload and OpenQueuesOffload ask for IFF_VNET_HDR and
// the offloads (TUNSETOFFLOAD: checksum, TSO4/6, and USO4/6 where the
// kernel has them), so that the kernel hands over TCP and UDP-GSO
// super-packets of up to 64 KiB in one read, and a write may carry a
// GRO-coalesced super-packet: fewer system calls and, above all, fewer
// cross-CPU wakeups per byte (issue 13, row 2 of make bench). That is why
// this package depends on wireguard-go (golang.zx2c4.com/wireguard/tun):
// its Linux device splits a super-packet into MTU-sized IP packets with
// correct checksums on Read (and finishes CHECKSUM_PARTIAL packets), and
// coalesces the TCP and UDP packets of one flow in a Write batch, checking
// every packet's transport checksum before it merges it (a packet with a
// wrong one is written alone, so the kernel still sees and drops it). It is
// fuzzed and used in production by WireGuard; writing the same here would
// be a thousand lines of checksum and sequence arithmetic. We open each
// queue's descriptor ourselves (multiqueue, O_CLOEXEC, the fallbacks) and
// hand it to tun.CreateUnmonitoredTUNFromFD, which starts no netlink
// goroutines; offloadDevice adapts it to Device. When the kernel refuses
// IFF_VNET_HDR or the offloads, the queue is opened plain.
package tun

import "errors"

// Device is a layer-3 (IFF_TUN, no packet info) device carrying IP packets.
type Device interface {
	// Read reads up to len(bufs) packets into bufs[i][offset:], sets sizes[i]
	// and returns how many it read. It blocks until at least one is ready.
	// A device with offloads splits a super-packet into up to BatchSize()
	// packets, each no larger than the device's MTU, into bufs[0], bufs[1],
	// ...; a single packet (no GSO) goes into bufs[0], up to 64 KiB. Give it
	// BatchSize() buffers: a super-packet with more segments than len(bufs)
	// loses the rest. An error matching ErrDropped says that a packet the
	// kernel handed over could not be split into bufs and was dropped; the
	// n packets read are good and the device reads on.
	Read(bufs [][]byte, sizes []int, offset int) (int, error)
	// Write writes the packets bufs[i][offset:] and returns how many it
	// wrote. A device with offloads needs offset ≥ Headroom (the virtio-net
	// header goes in front of each packet, over bytes the caller has
	// spent) and may coalesce the packets of one TCP or UDP flow into the
	// first one's buffer, growing bufs[i] up to its capacity: cap(bufs[i])
	// must end where bytes that may be overwritten end. On an error it
	// cannot tell which coalesced packets went out: n is 0.
	Write(bufs [][]byte, offset int) (int, error)
	// BatchSize is the most packets one Read returns.
	BatchSize() int
	Name() string
	Close() error
}

// Headroom is the room a Write to a device with offloads needs in front of
// each packet: the virtio-net header (struct virtio_net_hdr, 10 octets).
// Plain devices take any offset.
const Headroom = 10

// ErrClosed is returned by Read and Write after Close.
var ErrClosed = errors.New("tun: device closed")

// ErrDropped is matched by a Read error that dropped one packet (a
// super-packet that did not fit the buffers, a malformed virtio-net
// header): count it and read on.
var ErrDropped = errors.New("tun: packet dropped")

// Offloaded reports whether d was opened with offloads (IFF_VNET_HDR):
// it returns super-packets split into up to BatchSize() packets and
// coalesces writes.
func Offloaded(d Device) bool {
	_, ok := d.(*offloadDevice)
	return ok
}
