//go:build !linux

package nat

import (
	"context"
	"fmt"
	"runtime"
)

var errOS = fmt.Errorf("nat: nftables not available on %s", runtime.GOOS)

// Apply needs Linux nftables.
func Apply(ctx context.Context, p Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return errOS
}

// Remove needs Linux nftables.
func Remove() error { return errOS }

// Counter is one named counter of the table.
type Counter struct {
	Name           string
	Packets, Bytes uint64
}

// ReadCounters needs Linux nftables.
func ReadCounters() ([]Counter, error) { return nil, errOS }

// Rule is one rule of the table with its counter.
type Rule struct {
	Chain, Comment, Counter string
	Counted                 bool
	Packets, Bytes          uint64
}

// ReadRules needs Linux nftables.
func ReadRules() ([]Rule, []Counter, error) { return nil, nil, errOS }
