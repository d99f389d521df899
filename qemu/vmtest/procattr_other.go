//go:build !linux

package vmtest

import "os/exec"

// KillWithParent needs Linux's PR_SET_PDEATHSIG; elsewhere the process is
// only stopped by Close.
func KillWithParent(cmd *exec.Cmd) {}
