//go:build linux && !(amd64 || arm64 || riscv64 || ppc64le || s390x || mips64 || mips64le || loong64)

package clock

import (
	"errors"
	"time"
)

// slew is not written for 32-bit timex here: the Syncer steps instead.
func slew(time.Duration) error { return errors.ErrUnsupported }
