package pid1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/firmware/kmod"
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

// loadModules loads the board's modules and their dependencies in modules.dep order.
// A module that fails is logged and skipped: a driver for absent hardware must not stop the
// box (sp5100_tco says ENODEV on a board without the timer).
func loadModules(names []string, cmd Cmdline, logf func(string, ...any)) (loaded int, errs []error) {
	dir := filepath.Join("/lib/modules", kernelRelease())
	read := func(name string) (*os.File, error) { return os.Open(filepath.Join(dir, name)) }
	df, err := read("modules.dep")
	if err != nil {
		return 0, []error{fmt.Errorf("modules: %w", err)}
	}
	ix, err := kmod.ParseDep(df)
	df.Close()
	if err != nil {
		return 0, []error{err}
	}
	builtin := map[string]bool{}
	if bf, err := read("modules.builtin"); err == nil {
		builtin, _ = kmod.ParseBuiltin(bf)
		bf.Close()
	}
	order, err := ix.LoadOrder(names, builtin)
	if err != nil {
		return 0, []error{err}
	}
	for _, m := range order {
		f, err := read(m.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("module %s: %w", m.Name, err))
			continue
		}
		params := cmd.ModuleParams(m.Name)
		err = unix.FinitModule(int(f.Fd()), params, 0)
		f.Close()
		switch {
		case err == nil:
			loaded++
		case errors.Is(err, unix.EEXIST):
		case errors.Is(err, unix.ENODEV):
			// Hardware-specific variants (crc32c_intel without SSE4.2) refuse politely.
			logf("module %s: no such hardware here", m.Name)
		default:
			errs = append(errs, fmt.Errorf("module %s: %w", m.Name, err))
		}
	}
	return loaded, errs
}

// waitEntropy blocks until the kernel's random pool is initialised (boxd's MS-CHAPv2
// challenges and MPPE keys need it), logging if it takes a while.
func waitEntropy(logf func(string, ...any)) {
	done := make(chan struct{})
	go func() {
		b := make([]byte, 16)
		unix.Getrandom(b, 0)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		logf("entropy: waiting for the kernel random pool")
		<-done
		logf("entropy: ready")
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
