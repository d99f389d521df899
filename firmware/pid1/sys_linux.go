package pid1

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mountEarly mounts the pseudo filesystems. The kernel gives PID 1 an initramfs with none
// of them; u-root's own init would do this, but we are /init.
func mountEarly() error {
	mounts := []struct {
		src, dst, fstype string
		flags            uintptr
		data             string
	}{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=620,ptmxmode=666"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755,size=16m"},
		{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777,size=16m"},
	}
	var errs []error
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err))
		}
	}
	return errors.Join(errs...)
}

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// startEntropy asks the kernel for random bytes in the background: a getrandom that blocks
// is what makes the kernel generate entropy from timer jitter when no device feeds its pool
// (seconds under QEMU without virtio-rng), and that can run while the modules load. The
// returned wait blocks until the pool is initialised (boxd's MS-CHAPv2 challenges and MPPE
// keys need it), logging if it still takes a while then.
func startEntropy() (wait func(logf func(string, ...any))) {
	done := make(chan struct{})
	go func() {
		b := make([]byte, 16)
		unix.Getrandom(b, 0)
		close(done)
	}()
	return func(logf func(string, ...any)) {
		select {
		case <-done:
		case <-time.After(time.Second):
			logf("entropy: waiting for the kernel random pool")
			<-done
			logf("entropy: ready")
		}
	}
}

// kmsgWriter writes lines to the kernel log so that dmesg and a netconsole see them.
type kmsgWriter struct{ f *os.File }

func openKmsg() *kmsgWriter {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return &kmsgWriter{}
	}
	return &kmsgWriter{f: f}
}

func (k *kmsgWriter) Write(p []byte) (int, error) {
	if k.f == nil {
		return len(p), nil
	}
	// One record per write; "<6>" is KERN_INFO, which loglevel=4 keeps off the console
	// (the console already shows these lines).
	line := strings.TrimRight(string(p), "\n")
	k.f.Write([]byte("<6>" + line + "\n"))
	return len(p), nil
}
