// Package tun is the TUN device the VPN pool is routed to. Its interface is
// batch-shaped with headroom (wireguard-go's tun.Device): a read fills
// bufs[i][offset:], leaving offset bytes in front of each packet so that the
// PPP, MPPE and GRE headers can be written in place; a write takes packets at
// bufs[i][offset:]. The first implementation moves one packet per call.
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
