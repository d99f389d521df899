// Package tun is the TUN device the VPN pool is routed to. Its interface is
// batch-shaped with headroom (wireguard-go's tun.Device): a read fills
// bufs[i][offset:], leaving offset bytes in front of each packet so that the
// PPP, MPPE and GRE headers can be written in place; a write takes packets at
// bufs[i][offset:]. A read moves one packet (no IFF_VNET_HDR/GSO).
//
// The device is opened with golang.org/x/sys/unix directly (TUNSETIFF on
// /dev/net/tun), one file descriptor per queue: OpenQueues asks for
// IFF_MULTI_QUEUE so that each core's reader has a queue of its own (the
// kernel spreads flows over the queues by hash). It replaced songgao/water
// (which can set IFF_MULTI_QUEUE, contrary to issue 13): water opens
// /dev/net/tun without O_CLOEXEC, so every child boxd starts inherited a
// queue of the device, and it was a dependency for what is 60 lines here;
// boxd is 10 KiB smaller without it. The descriptors are non-blocking and go
// through the runtime poller (os.NewFile), as in wireguard-go's tun package:
// a blocked Read parks its goroutine, and Close wakes it with ErrClosed.
package tun

import "errors"

// Device is a layer-3 (IFF_TUN, no packet info) device carrying IP packets.
type Device interface {
	// Read reads up to len(bufs) packets into bufs[i][offset:], sets sizes[i]
	// and returns how many it read. It blocks until at least one is ready.
	Read(bufs [][]byte, sizes []int, offset int) (int, error)
	// Write writes the packets bufs[i][offset:] and returns how many it wrote.
	Write(bufs [][]byte, offset int) (int, error)
	// BatchSize is the most packets one Read returns.
	BatchSize() int
	Name() string
	Close() error
}

// ErrClosed is returned by Read and Write after Close.
var ErrClosed = errors.New("tun: device closed")
