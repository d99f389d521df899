package netns

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sweepStale deletes namespaces named "<prefix>-<pid>-<hex>" whose
// creating process no longer exists: a test binary killed by its timeout
// runs no cleanup. Names of living processes, and any other names, are left
// alone.
func sweepStale(prefix string) {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := ownerPID(e.Name(), prefix)
		if !ok || pid == os.Getpid() || processExists(pid) {
			continue
		}
		run(context.Background(), "ip", "netns", "del", e.Name())
	}
}

// ownerPID parses the PID out of a name New made with prefix.
func ownerPID(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0, false
	}
	pidText, suffix, ok := strings.Cut(rest, "-")
	if !ok || len(suffix) != 4 || strings.Trim(suffix, "0123456789abcdef") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// processExists reports whether pid names a process: kill(pid, 0) fails
// with ESRCH only when there is none.
func processExists(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
