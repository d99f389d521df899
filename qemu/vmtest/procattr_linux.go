package vmtest

import (
	"os/exec"
	"syscall"
)

// KillWithParent makes the kernel SIGKILL cmd's process when the test
// process dies (prctl PR_SET_PDEATHSIG): a test binary killed by its
// timeout runs no cleanup, and QEMU or boxd must not outlive it. It
// survives `ip netns exec`'s execve.
func KillWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
