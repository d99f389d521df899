//go:build !linux

package tun

import (
	"fmt"
	"runtime"
)

// Open is only implemented on Linux.
func Open(name string) (Device, error) {
	return nil, fmt.Errorf("tun: not supported on %s", runtime.GOOS)
}

// OpenQueues is only implemented on Linux.
func OpenQueues(name string, n int) ([]Device, error) {
	return nil, fmt.Errorf("tun: not supported on %s", runtime.GOOS)
}
