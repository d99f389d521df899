//go:build !linux

package netns

import (
	"fmt"
	"runtime"
)

// Do needs setns(2), which only Linux has.
func (n *NS) Do(fn func() error) error {
	return fmt.Errorf("netns %s: entering a network namespace needs Linux, not %s", n.Name, runtime.GOOS)
}

// sweepStale has nothing to sweep where there are no namespaces.
func sweepStale(string) {}
