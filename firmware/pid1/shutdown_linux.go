package pid1

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func (b *box) handleSignals() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
	for s := range sig {
		switch s {
		case syscall.SIGUSR2:
			b.requestShutdown("poweroff")
		default:
			b.requestShutdown("reboot")
		}
	}
}

func (b *box) requestShutdown(kind string) {
	select {
	case b.shutdownC <- kind:
	default:
	}
}

// shutdown stops boxd (it closes the sessions and sends the accounting stops on SIGTERM),
// syncs and unmounts the config filesystems, then reboots or powers off.
func (b *box) shutdown(kind string) {
	if b.con != nil {
		b.con.showAll() // the prompt is gone: the operator sees the way down, line by line
	}
	b.lg.Info("shutting down", "action", kind)
	if s := b.svc(); s != nil {
		s.stop(10 * time.Second)
	}
	// After boxd's last lines (its sessions closed), before the unmount.
	b.saveLog(kind, false)
	unix.Sync()
	for _, m := range []string{usbMount, flashMount} {
		if err := unix.Unmount(m, 0); err != nil && err != unix.EINVAL {
			b.lg.Warn("unmount", "path", m, "err", err)
		}
	}
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_RESTART
	if kind == "poweroff" {
		cmd = unix.LINUX_REBOOT_CMD_POWER_OFF
		if b.wd != nil {
			b.wd.disarm()
		}
	}
	fmt.Fprintf(b.console, "pptpbox: %s\n", kind)
	if err := unix.Reboot(cmd); err != nil {
		b.lg.Error("reboot", "err", err)
	}
	select {}
}
