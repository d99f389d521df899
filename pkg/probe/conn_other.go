//go:build !linux

package probe

import (
	"errors"
	"net/netip"
)

// Listen is Linux only.
func Listen(source netip.Addr) (Conn, error) {
	return nil, errors.New("probe: raw ICMP sockets are Linux only here")
}
