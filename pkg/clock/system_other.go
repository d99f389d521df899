//go:build !linux

package clock

import (
	"errors"
	"runtime"
	"time"
)

// System sets the host's clock; only on Linux.
type System struct{}

func (System) Step(time.Duration) error {
	return errors.New("clock: setting the clock is Linux only, not " + runtime.GOOS)
}
func (System) Slew(time.Duration) error {
	return errors.New("clock: setting the clock is Linux only, not " + runtime.GOOS)
}

// FindRTC finds no RTC outside Linux.
func FindRTC() RTC { return nil }
