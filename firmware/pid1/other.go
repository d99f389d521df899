//go:build !linux

package pid1

import (
	"fmt"
	"runtime"
)

// Boot is the init's main; it exists on Linux only.
func Boot(version string) error {
	return fmt.Errorf("pid1: the init runs on Linux only, not %s", runtime.GOOS)
}
