package pid1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/pkg/control"

	"github.com/pptpbox/pptpbox/pkg/cli"
)

// The upgrade socket: `boxctl upgrade FILE` (and boxd's upload endpoint, when it has one)
// stream an update file to the init, which owns the disk. The stream is one line
// "pptpbox-upgrade SOURCE" and the file's bytes up to the end of the client's half of the
// connection; the init answers with progress lines and a last line "ok" or "error: ...".
// The socket is root's only (0600): whoever can write it can replace the firmware, with a
// file the image's key signed.

// The socket is made with plain system calls: package net's unix listener would add
// 120 KB to the init.
func (b *box) serveUpgrades() {
	err := serveUnix(control.UpgradeSocket, func(c *os.File) {
		defer c.Close()
		serveUpgrade(c, b.install, b.lg.Warn)
	})
	b.lg.Error("upgrade socket", "path", control.UpgradeSocket, "err", err)
}

// serveUnix listens on a unix stream socket at path (mode 0600) and runs handle for each
// connection; it returns only on an error.
func serveUnix(path string, handle func(*os.File)) error {
	os.MkdirAll(filepath.Dir(path), 0o755)
	// Bound and listening under a temporary name, then renamed: the
	// socket file appears only once it takes connections (a client that
	// sees it is not refused).
	tmp := path + ".new"
	os.Remove(tmp)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	old := unix.Umask(0o177) // the socket file is made 0600
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: tmp})
	unix.Umask(old)
	if err == nil {
		err = unix.Listen(fd, 4)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		unix.Close(fd)
		os.Remove(tmp)
		return err
	}
	for {
		c, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		go handle(os.NewFile(uintptr(c), "upgrade-conn"))
	}
}

// serveUpgrade reads one request from c, hands the file to install and writes the result.
func serveUpgrade(c io.ReadWriter, install func(data []byte, source string, out io.Writer) error, warn func(string, ...any)) {
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	magic, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	if err != nil || magic != control.UpgradeMagic {
		fmt.Fprintf(c, "error: not an upgrade request\n")
		return
	}
	source := "socket"
	if f := strings.Fields(rest); len(f) > 0 {
		source = strings.Join(f, "-")
	}
	data, err := io.ReadAll(io.LimitReader(r, maxUpdateSize+1))
	if err == nil && int64(len(data)) > maxUpdateSize {
		err = fmt.Errorf("larger than %d bytes: not an update file", maxUpdateSize)
	}
	if err == nil {
		err = install(data, source, c)
	}
	if err != nil {
		warn("upgrade refused", "source", source, "err", err)
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	fmt.Fprintln(c, "ok")
}

// upgradeNode is the console's `upgrade FILE`.
func (b *box) upgradeNode() *cli.Node {
	return &cli.Node{Name: "upgrade", Help: "install a signed update file (e.g. on the USB stick at " + usbMount + ") and reboot into it",
		Args: []cli.Arg{{Name: "FILE", Help: "the update file (.upd)"}},
		Run: func(_ context.Context, c *cli.Call) error {
			data, err := readLimited(c.Arg(0), maxUpdateSize)
			if err != nil {
				return fmt.Errorf("upgrade: %w", err)
			}
			return b.install(data, "console", c.Out)
		}}
}

// slotsStatus is the console status's slot lines.
func (b *box) slotsStatus() string {
	u := b.up
	if u == nil || u.dev == "" {
		return "slots: no boot partition\n"
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.status
	return fmt.Sprintf("slot %s (committed %s) %s\nlast upgrade: %s\n", or(s.Running, "-"), or(s.Committed, "-"), u.versions(), s.LastUpgrade)
}
