package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Require skips t unless the process is root and the named commands are on
// PATH; under CI=true a missing prerequisite is a failure instead.
func Require(t testing.TB, commands ...string) {
	t.Helper()
	miss := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("netnstest: prerequisite missing under CI: "+format, args...)
		}
		t.Skipf("netnstest: "+format, args...)
	}
	if os.Geteuid() != 0 {
		miss("needs root for network namespaces")
	}
	for _, c := range commands {
		if _, err := exec.LookPath(c); err != nil {
			miss("needs %s on PATH", c)
		}
	}
}

// Run calls fn on an OS thread moved into a fresh network namespace (with
// lo up) and returns fn's error. Everything fn does on that thread, netlink
// sockets and child processes included, lives in the namespace; goroutines
// fn starts do not (they may run on other threads). The thread is never
// unlocked, so the runtime discards it when fn returns, and the namespace
// disappears with its last socket.
func Run(t testing.TB, fn func() error, commands ...string) {
	t.Helper()
	Require(t, commands...)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netnstest: unshare(CLONE_NEWNET): %w", err)
			return
		}
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			errc <- fmt.Errorf("netnstest: lo up: %v: %s", err, out)
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// Cmd runs a command and returns its combined output, or an error naming
// the command line and carrying the output.
func Cmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
