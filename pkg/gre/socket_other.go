//go:build !linux

package gre

import (
	"fmt"
	"net/netip"
	"runtime"
)

// ListenIPv4 is only implemented on Linux; the in-memory gretest.NewPipe
// works everywhere.
func ListenIPv4(local netip.Addr) (Conn, error) {
	return nil, fmt.Errorf("gre: raw GRE sockets are not implemented on %s", runtime.GOOS)
}

// ListenIPv4Shards is only implemented on Linux.
func ListenIPv4Shards(local netip.Addr, n int) ([]Conn, error) {
	return nil, fmt.Errorf("gre: raw GRE sockets are not implemented on %s", runtime.GOOS)
}
