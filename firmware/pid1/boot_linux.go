package pid1

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/firmware/board"
	"github.com/pptpbox/pptpbox/firmware/slots"
)

// Paths inside the initramfs.
const (
	boardFile     = "/etc/pptpbox/board.toml"
	versionFile   = "/etc/pptpbox/version"
	defaultConfig = "/etc/pptpbox/default.toml"
	boxdPath      = "/bin/boxd"
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
	console io.Writer // notices: always on the console
	con     *conOut   // the console's output (console is it)
	tty     *tty      // the console terminal, once the first prompt is up
	ring    *Ring
	lg      *slog.Logger
	r       *reaper
	wd      *watchdog
	ports   portTable  // role -> interface name, and the roles absent
	def     *Candidate // the embedded default
	// modulesAt is when the modules were loaded: the NIC drivers have probed for a while
	// by the time the ports are assigned (the entropy wait comes between).
	modulesAt time.Time

	mu       sync.Mutex // guards boxd and decision (a rollback replaces both)
	boxdSvc  *service
	decision Decision

	readyLines atomic.Int32             // ready lines printed
	degraded   atomic.Pointer[[]string] // what boxd serves without, at its last ping
	deathSaves atomic.Int32             // boxd deaths whose log was saved (savelog_linux.go)
	logDir     string                   // where the log is saved (logDir)
	followOnce sync.Once
	flashDev   string
	usbDev     string
	shutdownC  chan string
	up         *upgrader // boot slots and upgrades (upgrade_linux.go)
}

// Boot is the init's main. It returns only on a fatal error before the console is up.
func Boot(version string) error {
	if os.Getpid() != 1 {
		return fmt.Errorf("pid1: must run as PID 1 (the kernel's /init), not pid %d", os.Getpid())
	}
	b := &box{version: version, start: time.Now(), shutdownC: make(chan string, 1), logDir: logDir}
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
	b.stage("init")
	waitEntropy := startEntropy()

	if err := b.loadBoard(); err != nil {
		b.lg.Error("board profile", "err", err)
	}
	if b.board != nil {
		t := time.Now()
		n, skipped, errs := loadModules(b.board.Modules, b.cmd, b.logf)
		for _, e := range errs {
			b.lg.Warn("modules", "err", e)
		}
		b.lg.Info("modules loaded", "count", n, "took", time.Since(t).Round(time.Millisecond))
		b.modulesAt = time.Now()
		if len(skipped) > 0 {
			b.lg.Info("modules skipped, no device for them", "modules", strings.Join(skipped, " "))
		}
	}
	b.stage("modules")
	if err := unix.Sethostname([]byte("pptpbox")); err != nil {
		b.lg.Warn("hostname", "err", err)
	}
	if err := linkUp("lo"); err != nil {
		b.lg.Warn("loopback", "err", err)
	}
	b.startWatchdog()
	b.assignNICs()
	go b.watchLatePorts()
	b.stage("ports")
	b.slotsAtBoot()
	b.factoryResetAtBoot()
	b.selectConfig()
	b.stage("config")
	if b.upgradeFromUSB() {
		b.shutdown("reboot")
	}
	waitEntropy(b.logf)
	b.setServiceLimits()
	b.startBoxd()
	if d := b.dec(); d.WriteLastGood {
		go b.superviseTrial()
	}
	if b.up.role == slots.OnTrial {
		go b.superviseUpgrade()
	}
	go b.serveUpgrades()
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

// stage logs the end of a boot stage with the kernel's uptime (the guest clock since the
// kernel started), so that a boot can be broken down from the console alone
// (qemu/firmware TestBootTime): init (the kernel's part, /init started), modules, ports,
// config, boxd (answering); the ready line ends the boot.
func (b *box) stage(name string) {
	b.lg.Info("boot stage", "stage", name, "uptime", fmt.Sprintf("%.2fs", uptime()))
}

func (b *box) logf(format string, args ...any) { b.lg.Info(fmt.Sprintf(format, args...)) }

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
