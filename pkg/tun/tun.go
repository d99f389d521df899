// Package tun is the TUN device the VPN pool is routed to. Its interface is
// batch-shaped with headroom (wireguard-go's tun.Device): a read fills
// bufs[i][offset:], leaving offset bytes in front of each packet so that the
// PPP, MPPE and GRE headers can be written in place; a write takes packets at
// bufs[i][offset:]. A read moves one packet (no IFF_VNET_HDR/GSO).
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
