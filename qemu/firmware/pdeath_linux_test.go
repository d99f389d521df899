package firmware

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes QEMU die with the test binary, even when `go test` itself is killed by
// its -timeout or by the caller, so that no guest outlives its test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
