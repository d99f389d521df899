package pid1

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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

// printBanner puts an error where an operator cannot miss it.
func (b *box) printBanner(msg string) {
	b.lg.Error(msg)
	fmt.Fprintf(b.console, "\n*** %s\n\n", msg)
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
			fmt.Fprint(out, b.slotsStatus())
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
	cmds["upgrade"] = b.upgradeCommand()
	cmds["factory-reset"] = b.factoryResetCommand()
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
