//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || mips64 || mips64le || loong64)

package clock

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// slew: struct timex's offset is a long, in microseconds for
// ADJ_OFFSET_SINGLESHOT.
func slew(d time.Duration) error {
	tx := unix.Timex{Modes: unix.ADJ_OFFSET_SINGLESHOT, Offset: d.Microseconds()}
	if _, err := unix.Adjtimex(&tx); err != nil {
		return fmt.Errorf("adjtimex: %w", err)
	}
	return nil
}
