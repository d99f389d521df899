package pid1

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/firmware/board"
)

// Paths inside the initramfs.
const (
	boardFile     = "/etc/pptpbox/board.toml"
	versionFile   = "/etc/pptpbox/version"
	defaultConfig = "/etc/pptpbox/default.toml"
	boxdPath      = "/bin/boxd"
	boxctlPath    = "/bin/boxctl"
	shellPath     = "/bin/sh" // u-root links it to gosh (-defaultsh)
	flashMount    = "/config"
	usbMount      = "/mnt/usb"
	runConfig     = "/run/pptpbox/pptpbox.toml"
)

// Kernel command line options the init reads.
const (
	optDebug    = "pptpbox.debug"    // offer a debug shell on the console
	optTest     = "pptpbox.test"     // enable test-only console commands
	optWatchdog = "pptpbox.watchdog" // 0 disables the hardware watchdog, a duration sets its timeout
	optTrial    = "pptpbox.trial"    // how long boxd must serve a new config before it is last good
)

type box struct {
	version string
	start   time.Time
	board   *board.Board
	cmd     Cmdline
	console io.Writer
	ring    *Ring
	lg      *slog.Logger
	r       *reaper
	wd      *watchdog
	roles   map[string]string // role -> interface name
	def     *Candidate        // the embedded default

	mu       sync.Mutex // guards boxd and decision (a rollback replaces both)
	boxdSvc  *service
	decision Decision

	readyLines atomic.Int32 // ready lines printed
	followOnce sync.Once
	flashDev   string
	usbDev     string
	shutdownC  chan string
}

// Boot is the init's main. It returns only on a fatal error before the console is up.
func Boot(version string) error {
	if os.Getpid() != 1 {
		return fmt.Errorf("pid1: must run as PID 1 (the kernel's /init), not pid %d", os.Getpid())
	}
	b := &box{version: version, start: time.Now(), roles: map[string]string{}, shutdownC: make(chan string, 1)}
	mountErr := mountEarly()
	b.setupConsole()
	if mountErr != nil {
		b.lg.Error("mounts", "err", mountErr)
	}
	b.r = newReaper()
	if b.version == "" {
		if v, err := os.ReadFile(versionFile); err == nil {
			b.version = strings.TrimSpace(string(v))
		}
	}
	if data, err := os.ReadFile("/proc/cmdline"); err == nil {
		b.cmd = ParseCmdline(string(data))
	}
	// Ctrl-Alt-Del becomes SIGINT to us instead of an immediate reset.
	unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
	b.lg.Info("pptpbox init", "version", b.version, "kernel", kernelRelease())

	if err := b.loadBoard(); err != nil {
		b.lg.Error("board profile", "err", err)
	}
	if b.board != nil {
		t := time.Now()
		n, errs := loadModules(b.board.Modules, b.cmd, b.logf)
		for _, e := range errs {
			b.lg.Warn("modules", "err", e)
		}
		b.lg.Info("modules loaded", "count", n, "took", time.Since(t).Round(time.Millisecond))
	}
	if err := unix.Sethostname([]byte("pptpbox")); err != nil {
		b.lg.Warn("hostname", "err", err)
	}
	if err := linkUp("lo"); err != nil {
		b.lg.Warn("loopback", "err", err)
	}
	waitEntropy(b.logf)
	b.startWatchdog()
	b.assignNICs()
	b.selectConfig()
	b.setServiceLimits()
	b.startBoxd()
	if d := b.dec(); d.WriteLastGood {
		go b.superviseTrial()
	}
	go b.handleSignals()
	go func() {
		// The prompt starts once the box is ready (or has said why it is not), so that
		// the ready line is a line of its own.
		b.announceReady()
		b.console_()
	}()
	kind := <-b.shutdownC
	b.shutdown(kind)
	return nil
}

func (b *box) logf(format string, args ...any) { b.lg.Info(fmt.Sprintf(format, args...)) }

// setupConsole makes sure fds 0-2 are the console and sets up the log: every line goes to
// the ring (console "log" command), the console and the kernel log.
func (b *box) setupConsole() {
	if _, err := os.Stdout.Stat(); err != nil {
		if c, err := os.OpenFile("/dev/console", os.O_RDWR, 0); err == nil {
			for fd := 0; fd <= 2; fd++ {
				unix.Dup3(int(c.Fd()), fd, 0)
			}
		}
	}
	b.console = &syncWriter{w: os.Stdout}
	b.ring = NewRing(2000)
	b.ring.Tee = io.MultiWriter(b.console, openKmsg())
	h := slog.NewTextHandler(&PrefixWriter{Prefix: "init: ", W: b.ring}, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				// The kernel log and the console have their own clocks; show uptime.
				return slog.String("t", fmt.Sprintf("%.2fs", time.Since(b.start).Seconds()))
			}
			return a
		},
	})
	b.lg = slog.New(h)
}

func (b *box) loadBoard() error {
	data, err := os.ReadFile(boardFile)
	if err != nil {
		return err
	}
	bd, err := board.Parse(boardFile, data)
	if err != nil {
		return err
	}
	b.board = bd
	b.lg.Info("board", "name", bd.Name, "console", bd.Console.Device)
	return nil
}

func (b *box) startWatchdog() {
	if b.board == nil || b.board.Watchdog.Device == "" {
		return
	}
	timeout := b.board.Watchdog.Timeout.Duration
	if v, ok := b.cmd.Value(optWatchdog); ok {
		if v == "0" {
			b.lg.Warn("watchdog disabled on the kernel command line")
			return
		}
		if d, err := time.ParseDuration(v); err == nil && d >= 2*time.Second {
			timeout = d
		}
	}
	wd, err := openWatchdog(b.board.Watchdog.Device, timeout)
	if err != nil {
		b.lg.Warn("watchdog", "err", err)
		return
	}
	b.wd = wd
	b.lg.Info("watchdog armed", "device", b.board.Watchdog.Device, "timeout", timeout)
}

// assignNICs renames the ports to their roles. The drivers probe asynchronously, so it
// waits a little for the interfaces the board expects.
func (b *box) assignNICs() {
	if b.board == nil {
		return
	}
	var as []board.Assignment
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		var links []board.Link
		links, err = scanLinks()
		if err == nil {
			as, err = b.board.AssignRoles(links)
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.lg.Error("network ports", "err", err)
		return
	}
	for _, a := range as {
		if err := renameLink(a.Link.Name, a.NIC.Name); err != nil {
			b.lg.Error("network ports", "err", err)
			continue
		}
		b.roles[a.NIC.Role] = a.NIC.Name
		b.lg.Info("port", "role", a.NIC.Role, "name", a.NIC.Name, "was", a.Link.Name, "driver", a.Link.Driver, "pci", a.Link.PCI, "mac", a.Link.MAC)
	}
}

// findVolumes waits for the flash CONFIG partition and for USB sticks still being probed.
func (b *box) findVolumes() (flash, usb string) {
	deadline := time.Now().Add(8 * time.Second)
	minUSB := time.Now().Add(2 * time.Second) // USB devices enumerate after the host controller loads
	for {
		flash, usb = "", ""
		for _, v := range scanFAT() {
			switch {
			case v.Label == "PPTPBOX" && usb == "":
				usb = v.Dev
			case v.Label == "CONFIG" && !v.USB && flash == "":
				flash = v.Dev
			}
		}
		settled := !usbPresent() || (time.Now().After(minUSB) && !usbStoragePending())
		if (flash != "" && settled) || time.Now().After(deadline) {
			return flash, usb
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *box) selectConfig() {
	flashDev, usbDev := b.findVolumes()
	var flash, lastGood, usb *Candidate
	if flashDev != "" {
		if err := unix.Mount(flashDev, flashMount, "vfat", unix.MS_NOATIME|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "flush"); err != nil {
			b.lg.Error("config partition", "dev", flashDev, "err", err)
		} else {
			b.flashDev = flashDev
			flash = ReadCandidate(SourceFlash, filepath.Join(flashMount, ConfigName))
			lastGood = ReadCandidate(SourceLastGood, filepath.Join(flashMount, LastGoodName))
		}
	} else {
		b.lg.Warn("no CONFIG partition found; changes cannot be saved")
	}
	if usbDev != "" {
		if err := unix.Mount(usbDev, usbMount, "vfat", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			b.lg.Error("USB stick", "dev", usbDev, "err", err)
		} else {
			b.usbDev = usbDev
			usb = ReadCandidate(SourceUSB, filepath.Join(usbMount, ConfigName))
			if usb == nil {
				b.lg.Warn("USB stick labelled PPTPBOX has no " + ConfigName)
			}
		}
	}
	def := ReadCandidate(SourceDefault, defaultConfig)
	if def == nil || def.Err != nil {
		b.lg.Error("embedded default config missing", "path", defaultConfig)
		def = &Candidate{Source: SourceDefault, Path: defaultConfig}
	}
	b.def = def
	// A config that failed its trial on an earlier boot is not tried again until edited.
	var failedHash, failedReason string
	if b.flashDev != "" {
		if f := ReadCandidate(SourceFlash, filepath.Join(flashMount, FailedName)); f != nil && f.Err == nil {
			failedHash, failedReason, _ = ParseFailed(f.Data)
		}
	}
	validate := func(c *Candidate) error {
		if failedHash != "" && ConfigHash(c.Data) == failedHash {
			return fmt.Errorf("boxd failed with this file on an earlier boot (%s); edit it to try it again", failedReason)
		}
		if _, err := os.Stat(boxdPath); err != nil {
			return fmt.Errorf("cannot validate: %w", err)
		}
		return b.validate(c)
	}
	d := Select(usb, flash, lastGood, def, validate)
	b.mu.Lock()
	b.decision = d
	b.mu.Unlock()
	for _, e := range d.Errors {
		b.printBanner(e)
	}
	if d.WriteFlash && b.flashDev != "" {
		if err := WriteFileAtomic(flashMount, ConfigName, d.Use.Data); err != nil {
			b.lg.Error("copy USB config to flash", "err", err)
		}
	}
	for _, n := range d.Notes {
		b.lg.Info(n)
	}
	b.installConfig(d.Use)
}

// installConfig writes the config boxd runs with to /run.
func (b *box) installConfig(c *Candidate) {
	b.lg.Info("config", "source", c.Source, "file", c.Path)
	os.MkdirAll(filepath.Dir(runConfig), 0o700)
	if err := os.WriteFile(runConfig, c.Data, 0o600); err != nil {
		b.lg.Error("config", "err", err)
	}
}

// validate runs `boxd check` through the reaper (os/exec's Wait would race with it).
func (b *box) validate(c *Candidate) error {
	dir, err := os.MkdirTemp("/run", "check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, c.Source.String()+"-"+filepath.Base(c.Path))
	if err := os.WriteFile(f, c.Data, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// -on-box: the ports have their role names by now, so a config naming a port the board
	// does not have is rejected here rather than failing in boxd at every start.
	out, err := b.r.output(ctx, []string{boxdPath, "check", "-on-box", f})
	if err != nil {
		msg := strings.TrimSpace(strings.ReplaceAll(string(out), f, c.Path))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// printBanner puts an error where an operator cannot miss it.
func (b *box) printBanner(msg string) {
	b.lg.Error(msg)
	fmt.Fprintf(b.console, "\n*** %s\n\n", msg)
}

func (b *box) startBoxd() {
	s := &service{
		name: "boxd", argv: []string{boxdPath, "-config", runConfig},
		log: &PrefixWriter{Prefix: "boxd: ", W: b.ring}, r: b.r, lg: b.lg,
		stopped: make(chan struct{}), exits: make(chan string, 8),
	}
	b.mu.Lock()
	b.boxdSvc = s
	b.mu.Unlock()
	go s.run()
}

// svc is the current boxd service.
func (b *box) svc() *service {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.boxdSvc
}

// dec is the current config decision.
func (b *box) dec() Decision {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.decision
}

// announceReady prints the one ready line once boxd answers on its control socket (or, with
// no CLI in the image, has stayed up for two seconds), with the ports' addresses.
func (b *box) announceReady() {
	for !b.boxdReady() {
		if time.Since(b.start) > 90*time.Second {
			b.printBanner("pptpbox not ready: boxd is not answering; see `log`")
			go b.printReadyWhenUp()
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	b.printReady()
}

// printReadyWhenUp prints the ready line once boxd answers, however long that takes.
func (b *box) printReadyWhenUp() {
	for !b.boxdReady() {
		time.Sleep(time.Second)
	}
	b.printReady()
}

func (b *box) printReady() {
	// Give a DHCP lease on the WAN a moment; the line reports what is there.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if (b.roles["wan"] == "" || ifaceAddr(b.roles["wan"]) != "none") && (b.roles["lan"] == "" || ifaceAddr(b.roles["lan"]) != "none") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	wan := b.addr("wan")
	fmt.Fprintf(b.console, "pptpbox ready version=%s wan=%s lan=%s board=%s config=%s uptime=%.1fs\n",
		b.version, wan, b.addr("lan"), b.boardName(), b.dec().Use.Source, uptime())
	b.readyLines.Add(1)
	if b.roles["wan"] != "" {
		b.followOnce.Do(func() { go b.followWAN(wan) })
	}
}

// followWAN prints a console line whenever the WAN address changes after the
// ready line: a DHCP lease slower than the ready line's wait, a new lease
// after the cable was replugged, or a lost one. The operator at the console
// learns the address the VPN clients must dial without asking.
func (b *box) followWAN(last string) {
	for {
		time.Sleep(2 * time.Second)
		cur := b.addr("wan")
		if line, ok := wanChange(last, cur, uptime()); ok {
			fmt.Fprint(b.console, line)
			b.lg.Info("wan address", "was", last, "now", cur)
			last = cur
		}
	}
}

func (b *box) addr(role string) string {
	name := b.roles[role]
	if name == "" {
		return "none"
	}
	return name + ":" + ifaceAddr(name)
}

func (b *box) boardName() string {
	if b.board == nil {
		return "unknown"
	}
	return b.board.Name
}

func (b *box) boxdReady() bool {
	up, since := b.svc().running()
	if !up {
		return false
	}
	if _, err := os.Stat(boxctlPath); err != nil {
		return time.Since(since) > 2*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := b.r.output(ctx, []string{boxctlPath, "ping"})
	return err == nil
}

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
	b.lg.Info("shutting down", "action", kind)
	if s := b.svc(); s != nil {
		s.stop(10 * time.Second)
	}
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

// console_ runs the status prompt on the console.
func (b *box) console_() {
	p := &Prompt{Name: "pptpbox", Commands: b.commands()}
	if _, err := os.Stat(boxctlPath); err == nil {
		p.Fallback = func(args []string, out io.Writer) error {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			res, err := b.r.output(ctx, append([]string{boxctlPath}, args...))
			out.Write(res)
			return err
		}
	}
	if err := p.Serve(os.Stdin, b.console); err != nil {
		b.lg.Warn("console", "err", err)
	}
}

func (b *box) commands() map[string]Command {
	cmds := map[string]Command{
		"status": {"version, uptime, ports, config, services", func(_ []string, out io.Writer) error {
			fmt.Fprintf(out, "pptpbox %s board %s up %s\n", b.version, b.boardName(), time.Since(b.start).Round(time.Second))
			fmt.Fprintf(out, "wan %s\nlan %s\n", b.addr("wan"), b.addr("lan"))
			d := b.dec()
			fmt.Fprintf(out, "config %s (%s)\n", d.Use.Source, d.Use.Path)
			for _, e := range d.Errors {
				fmt.Fprintf(out, "  %s\n", e)
			}
			fmt.Fprintln(out, b.svc().status())
			if b.wd != nil {
				fmt.Fprintln(out, "watchdog armed")
			}
			return nil
		}},
		"log": {"[N] last N log lines (default 50)", func(args []string, out io.Writer) error {
			n := 50
			if len(args) > 0 {
				v, err := strconv.Atoi(args[0])
				if err != nil || v <= 0 {
					return fmt.Errorf("log: %q is not a line count", args[0])
				}
				n = v
			}
			lines := b.ring.Lines()
			for _, l := range lines[max(0, len(lines)-n):] {
				fmt.Fprintln(out, l)
			}
			return nil
		}},
		"version":  {"firmware version", func(_ []string, out io.Writer) error { fmt.Fprintln(out, b.version); return nil }},
		"reboot":   {"stop boxd cleanly and reboot", func([]string, io.Writer) error { b.requestShutdown("reboot"); return ErrExitPrompt }},
		"poweroff": {"stop boxd cleanly and power off", func([]string, io.Writer) error { b.requestShutdown("poweroff"); return ErrExitPrompt }},
		"restart": {"restart boxd", func(_ []string, out io.Writer) error {
			s := b.svc()
			up, _ := s.running()
			if !up {
				return fmt.Errorf("boxd is not running")
			}
			s.mu.Lock()
			p := s.proc
			s.mu.Unlock()
			if p != nil {
				unix.Kill(-p.Pid, unix.SIGTERM)
			}
			fmt.Fprintln(out, "boxd: restarting")
			return nil
		}},
	}
	if b.cmd.Flag(optDebug) || DebugShellRequested(b.dec().Use.Data) {
		cmds["shell"] = Command{"debug shell (enabled by " + optDebug + "=1 or [console] debug_shell)", func(_ []string, out io.Writer) error {
			return b.shell()
		}}
	}
	if b.cmd.Flag(optTest) {
		cmds["test-watchdog-hang"] = Command{"stop feeding the watchdog (test only)", func(_ []string, out io.Writer) error {
			if b.wd == nil {
				return fmt.Errorf("no watchdog")
			}
			b.wd.hang()
			fmt.Fprintln(out, "watchdog: no longer fed")
			return nil
		}}
	}
	return cmds
}

// shell runs the debug shell on the console device as its controlling terminal.
func (b *box) shell() error {
	dev := "/dev/console"
	if b.board != nil {
		dev = "/dev/" + b.board.Console.Device
	}
	tty, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer tty.Close()
	_, ch, err := b.r.start([]string{shellPath}, &os.ProcAttr{
		Files: []*os.File{tty, tty, tty},
		Env:   []string{"PATH=/bbin:/bin", "HOME=/root", "TERM=vt100"},
		Dir:   "/",
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0},
	})
	if err != nil {
		return err
	}
	b.lg.Info("debug shell started")
	ws := <-ch
	b.lg.Info("debug shell ended", "status", describeStatus(ws))
	return nil
}

// uptime is the time since the kernel started (/proc/uptime), the boot time the ready line
// reports.
func uptime() float64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return f
}
