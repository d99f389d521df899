//go:build !linux

package dhcp4c

import (
	"context"
	"fmt"
	"runtime"
)

// Run is implemented on Linux only.
func (c *Client) Run(ctx context.Context) error {
	return fmt.Errorf("dhcp4c: not implemented on %s", runtime.GOOS)
}
