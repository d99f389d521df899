package vmtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
)

// ReadyMarker is what the guest's init prints on the console once its
// network is configured and the command channel is listening.
const ReadyMarker = "pptpbox-guest: ready"

// Config describes one guest.
type Config struct {
	// Image is a directory holding vmlinuz and initrd.img (see BuildImage).
	Image string
	// NS is the namespace QEMU runs in (its tap lives there); nil means the
	// caller's own namespace.
	NS *netns.NS
	// Tap is the tap device for eth0 (virtio-net); empty means no NIC.
	Tap string
	// MAC of eth0; defaults to 52:54:00:12:34:56 (QEMU's locally administered range).
	MAC string
	// Addr is eth0's address, passed on the kernel command line.
	Addr netip.Prefix
	// Gateway, when valid, becomes the guest's default route.
	Gateway netip.Addr
	// Name is the guest's hostname and the prefix of its files in Dir.
	Name string
	// Dir receives the console log and QEMU's stderr; the caller removes it.
	Dir string
	// Memory for QEMU's -m; defaults to 256M.
	Memory string
	// BootTimeout bounds the wait for ReadyMarker and then, again, the first
	// answer on the command channel; defaults to 3m (a TCG boot takes about
	// 10s on an idle machine, several times that on a loaded one).
	BootTimeout time.Duration
	// Log receives progress messages; nil discards them.
	Log *slog.Logger
}

// Guest is a running QEMU guest.
type Guest struct {
	cfg      Config
	cmd      *exec.Cmd
	console  string // path of the console log (ttyS0)
	sockDir  string // short directory for the unix socket (sun_path is 108 bytes)
	stderr   *LogWatch
	exited   chan struct{}
	waitErr  error
	conn     net.Conn
	lines    chan string
	readErr  error // valid once lines is closed
	runMu    sync.Mutex
	nextID   uint64
	closeMu  sync.Mutex
	closed   bool
	bootTime time.Duration
}

// Boot starts QEMU and returns once the guest printed ReadyMarker and
// answered on its command channel. On error nothing is left running.
func Boot(ctx context.Context, cfg Config) (*Guest, error) {
	if cfg.Name == "" {
		cfg.Name = "guest"
	}
	if cfg.MAC == "" {
		cfg.MAC = "52:54:00:12:34:56"
	}
	if cfg.Memory == "" {
		cfg.Memory = "256M"
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 3 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		return nil, errors.New("vmtest: Config.Dir is required")
	}
	for _, f := range []string{"vmlinuz", "initrd.img"} {
		if _, err := os.Stat(filepath.Join(cfg.Image, f)); err != nil {
			return nil, fmt.Errorf("vmtest: guest image: %w", err)
		}
	}
	sockDir, err := os.MkdirTemp("", "vmtest")
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	g := &Guest{
		cfg:     cfg,
		console: filepath.Join(cfg.Dir, cfg.Name+"-console.log"),
		sockDir: sockDir,
		stderr:  NewLogWatch(),
		exited:  make(chan struct{}),
		lines:   make(chan string, 4096),
	}
	sock := filepath.Join(sockDir, "shell.sock")
	args := g.qemuArgs(sock)
	name := "qemu-system-x86_64"
	if cfg.NS != nil {
		g.cmd = cfg.NS.Command(context.Background(), name, args...)
	} else {
		g.cmd = exec.Command(name, args...)
	}
	g.cmd.Stdout = g.stderr
	g.cmd.Stderr = g.stderr
	KillWithParent(g.cmd)
	start := time.Now()
	if err := g.cmd.Start(); err != nil {
		os.RemoveAll(sockDir)
		return nil, fmt.Errorf("vmtest: start qemu: %w", err)
	}
	cfg.Log.Info("qemu started", "guest", cfg.Name, "pid", g.cmd.Process.Pid, "console", g.console)
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.exited)
	}()
	if err := g.boot(ctx, sock); err != nil {
		g.Close()
		return nil, fmt.Errorf("vmtest: boot %s: %w\nqemu: %s\nconsole tail:\n%s", cfg.Name, err, strings.TrimSpace(g.stderr.String()), tail(g.Console(), 25))
	}
	g.bootTime = time.Since(start)
	cfg.Log.Info("guest ready", "guest", cfg.Name, "boot", g.bootTime.Round(time.Millisecond))
	return g, nil
}

func (g *Guest) qemuArgs(sock string) []string {
	cmdline := []string{"console=ttyS0,115200", "panic=-1", "loglevel=4", "no_timer_check", "pptpbox.name=" + g.cfg.Name}
	if g.cfg.Addr.IsValid() {
		cmdline = append(cmdline, "pptpbox.ip="+g.cfg.Addr.String())
	}
	if g.cfg.Gateway.IsValid() {
		cmdline = append(cmdline, "pptpbox.gw="+g.cfg.Gateway.String())
	}
	args := []string{
		"-M", "pc", "-m", g.cfg.Memory, "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", filepath.Join(g.cfg.Image, "vmlinuz"),
		"-initrd", filepath.Join(g.cfg.Image, "initrd.img"),
		"-append", strings.Join(cmdline, " "),
		// ttyS0: console to a file; ttyS1: the command channel as a unix socket.
		"-serial", "file:" + g.console,
		"-chardev", "socket,id=shell,path=" + sock + ",server=on,wait=off",
		"-serial", "chardev:shell",
	}
	if g.cfg.Tap != "" {
		args = append(args,
			"-netdev", "tap,id=n0,ifname="+g.cfg.Tap+",script=no,downscript=no",
			"-device", "virtio-net-pci,netdev=n0,mac="+g.cfg.MAC)
	}
	return args
}

func (g *Guest) boot(parent context.Context, sock string) error {
	ctx, cancel := context.WithTimeout(parent, g.cfg.BootTimeout)
	defer cancel()
	if err := g.WaitConsole(ctx, ReadyMarker); err != nil {
		return err
	}
	g.cfg.Log.Debug("console ready", "guest", g.cfg.Name)
	ctx, cancel = context.WithTimeout(parent, g.cfg.BootTimeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "unix", sock)
		if err == nil {
			g.conn = c
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("command channel %s: %w", sock, err)
		case <-g.exited:
			return fmt.Errorf("qemu exited: %v", g.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	go g.readLines()
	// The guest may lose the first bytes sent while its shell opens the
	// port (the UART clears its FIFO on open), so ask until it answers; a
	// late answer to an earlier try carries an older id and is skipped.
	for {
		try, cancel := context.WithTimeout(ctx, 3*time.Second)
		out, st, err := g.Run(try, "echo ok")
		cancel()
		switch {
		case err == nil && st == 0 && out == "ok\n":
			return nil
		case err == nil:
			return fmt.Errorf("command channel: echo ok gave %q, status %d", out, st)
		case ctx.Err() != nil:
			return fmt.Errorf("command channel: %w", err)
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		g.cfg.Log.Debug("command channel not answering yet; retrying", "guest", g.cfg.Name)
	}
}

func (g *Guest) readLines() {
	r := bufio.NewReaderSize(g.conn, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			g.readErr = err
			close(g.lines)
			return
		}
		g.lines <- strings.TrimRight(line, "\r\n")
	}
}

// BootTime is how long Boot took, QEMU start to a working command channel.
func (g *Guest) BootTime() time.Duration { return g.bootTime }

// PID is QEMU's process ID.
func (g *Guest) PID() int { return g.cmd.Process.Pid }

// Exited is closed when QEMU has exited.
func (g *Guest) Exited() <-chan struct{} { return g.exited }

// Run runs script with sh in the guest (cwd /root, stdin /dev/null) and
// returns its combined stdout and stderr and its exit status. err reports a
// channel failure or ctx expiring, never a non-zero status. Commands run one
// at a time; ctx's deadline travels with the command, and the guest kills
// the script (busybox timeout) when it passes, so a hung command does not
// block the channel for long.
func (g *Guest) Run(ctx context.Context, script string) (stdout string, exit int, err error) {
	g.runMu.Lock()
	defer g.runMu.Unlock()
	if g.conn == nil {
		return "", -1, errors.New("vmtest: run: no command channel")
	}
	g.nextID++
	id := g.nextID
	timeout := 0 // seconds the guest lets the script run; 0: no limit
	if dl, ok := ctx.Deadline(); ok {
		g.conn.SetWriteDeadline(dl)
		// A little after the deadline: the caller sees ctx's error first,
		// then the guest ends the script.
		timeout = max(1, int(time.Until(dl).Seconds())+2)
	} else {
		g.conn.SetWriteDeadline(time.Time{})
	}
	if _, err := g.conn.Write(encodeCommand(id, script, timeout)); err != nil {
		return "", -1, fmt.Errorf("vmtest: run %q: send: %w", short(script), err)
	}
	p := newReplyParser(id)
	for {
		select {
		case line, ok := <-g.lines:
			if !ok {
				return "", -1, fmt.Errorf("vmtest: run %q: channel closed: %v", short(script), g.readErr)
			}
			done, err := p.feed(line)
			if err != nil {
				return "", -1, fmt.Errorf("vmtest: run %q: %w", short(script), err)
			}
			if done {
				return string(p.Output), p.Status, nil
			}
		case <-g.exited:
			return "", -1, fmt.Errorf("vmtest: run %q: qemu exited: %v", short(script), g.waitErr)
		case <-ctx.Done():
			return "", -1, fmt.Errorf("vmtest: run %q: %w", short(script), ctx.Err())
		}
	}
}

// MustRun is Run for scripts that must succeed: a channel error or a
// non-zero status is returned as an error that carries the output.
func (g *Guest) MustRun(ctx context.Context, script string) (string, error) {
	out, st, err := g.Run(ctx, script)
	if err != nil {
		return out, err
	}
	if st != 0 {
		return out, fmt.Errorf("vmtest: %q exited %d: %s", short(script), st, strings.TrimSpace(out))
	}
	return out, nil
}

// WriteFile writes data to path in the guest (through the command channel)
// with the given octal mode.
func (g *Guest) WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	script := fmt.Sprintf("mkdir -p '%s' && base64 -d > '%s' <<'EOF_VMTEST'\n%s\nEOF_VMTEST\nchmod %o '%s'",
		filepath.Dir(path), path, b64(data), mode.Perm(), path)
	_, err := g.MustRun(ctx, script)
	return err
}

// Console returns the console log written so far.
func (g *Guest) Console() string {
	b, _ := os.ReadFile(g.console)
	return string(b)
}

// ConsolePath is the file QEMU writes the console (ttyS0) to.
func (g *Guest) ConsolePath() string { return g.console }

// QEMUOutput is what QEMU printed on stdout and stderr.
func (g *Guest) QEMUOutput() string { return g.stderr.String() }

// WaitConsole polls the console log until it contains substr; it fails
// early when QEMU exits.
func (g *Guest) WaitConsole(ctx context.Context, substr string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if strings.Contains(g.Console(), substr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q on the console: %w", substr, ctx.Err())
		case <-g.exited:
			if strings.Contains(g.Console(), substr) {
				return nil
			}
			return fmt.Errorf("waiting for %q on the console: qemu exited: %v", substr, g.waitErr)
		case <-t.C:
		}
	}
}

// Close kills QEMU by PID, waits for it, and removes the socket directory.
// It is safe to call more than once and from t.Cleanup.
func (g *Guest) Close() error {
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	var err error
	select {
	case <-g.exited:
	default:
		if kerr := g.cmd.Process.Kill(); kerr != nil {
			err = fmt.Errorf("vmtest: kill qemu %d: %w", g.cmd.Process.Pid, kerr)
		}
		select {
		case <-g.exited:
		case <-time.After(10 * time.Second):
			err = errors.Join(err, fmt.Errorf("vmtest: qemu %d did not exit after SIGKILL", g.cmd.Process.Pid))
		}
	}
	if g.conn != nil {
		g.conn.Close()
	}
	os.RemoveAll(g.sockDir)
	return err
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
