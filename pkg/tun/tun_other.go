//go:build !linux

package tun

import (
	"fmt"
	"runtime"
)

// offloadDevice exists on Linux only (Offloaded is false elsewhere).
type offloadDevice struct{}

func (*offloadDevice) Read([][]byte, []int, int) (int, error) { return 0, ErrClosed }
func (*offloadDevice) Write([][]byte, int) (int, error)       { return 0, ErrClosed }
func (*offloadDevice) BatchSize() int                         { return 1 }
func (*offloadDevice) Name() string                           { return "" }
func (*offloadDevice) Close() error                           { return nil }

// Open is only implemented on Linux.
func Open(name string) (Device, error) {
	return nil, fmt.Errorf("tun: not supported on %s", runtime.GOOS)
}

// OpenOffload is only implemented on Linux.
func OpenOffload(name string) (Device, error) { return Open(name) }

// OpenQueues is only implemented on Linux.
func OpenQueues(name string, n int) ([]Device, error) {
	return nil, fmt.Errorf("tun: not supported on %s", runtime.GOOS)
}

// OpenQueuesOffload is only implemented on Linux.
func OpenQueuesOffload(name string, n int) ([]Device, error) { return OpenQueues(name, n) }
