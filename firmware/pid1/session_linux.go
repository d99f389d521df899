package pid1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/pptpbox/pptpbox/pkg/cli"
	"github.com/pptpbox/pptpbox/pkg/console"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/login"
)

// rw joins a prompt's input and output.
type rw struct {
	io.Reader
	io.Writer
}

func newLoginGate() *login.Gate { return login.NewGate() }

// login asks for the console password until it is right (true) or the prompt has been idle
// for loginIdle (false). The hash is read from the config in use at each try, so a
// password changed by `password` or a commit applies at once. No hash while a login is
// required: the box lets the operator in with a loud warning, as a router with no password
// set does (anyone who could change the config could set a hash anyway: a USB stick's
// config wins at boot); the warning says how to set one.
func (b *box) login(t *tty, gate *login.Gate) bool {
	for {
		hash := ReadConsoleSettings(b.runningConfig()).PasswordHash
		if hash == "" {
			b.lg.Warn("console login without a password: the config has no [console] password_hash")
			fmt.Fprint(b.console, "\n*** This console asks for a password, but none is set ([console] password_hash):\n"+
				"*** anyone at this port gets in. Set one now with `password`, or put password_hash\n"+
				"*** (from `boxd hash-password`) in pptpbox.toml on a USB stick labelled PPTPBOX.\n\n")
			return true
		}
		if w := gate.Wait(time.Now()); w > 0 {
			fmt.Fprintf(b.console, "Too many wrong passwords: next try in %s.\n", w.Round(time.Second))
			time.Sleep(w)
			t.flushInput() // guesses typed meanwhile do not count
		}
		fmt.Fprintf(b.console, "pptpbox console login (%s, %s)\n", b.boardName(), b.version)
		r := t.in.take()
		tm := term.NewTerminal(rw{r, t.out}, "")
		b.con.setSink(tm)
		var pw string
		var err error
		timedOut := runIdle(t.in, loginIdle, func() bool { return false }, func(ctx context.Context) {
			stop := context.AfterFunc(ctx, r.end)
			defer stop()
			pw, err = tm.ReadPassword("Password: ")
		})
		b.con.setSink(nil)
		r.end()
		switch {
		case timedOut:
			fmt.Fprint(b.console, "\nLogin timed out.\n")
			return false
		case err != nil:
			return false
		case login.Verify(hash, pw):
			gate.Success()
			b.lg.Info("console login")
			return true
		}
		wait := gate.Fail(time.Now())
		b.lg.Warn("console login failed", "fails", gate.Fails(), "next_try_in", wait)
		fmt.Fprint(b.console, "Login incorrect.\n")
	}
}

// runningConfig is the config boxd runs with (a commit rewrites it; a rollback installs
// another), read anew each time.
func (b *box) runningConfig() []byte {
	c := ReadCandidate(SourceNone, runConfig)
	if c == nil || c.Err != nil {
		if d := b.dec(); d.Use != nil {
			return d.Use.Data
		}
		return nil
	}
	return c.Data
}

// session runs the CLI until logout, exit, Ctrl-D or shellIdle without input at the prompt.
func (b *box) session(t *tty) {
	ctx, logout := context.WithCancel(context.Background())
	defer logout()
	var busy atomic.Int32
	tree := b.consoleTree(control.NewClient(""), logout)
	markBusy(tree.Root, &busy, t.in)
	r := t.in.take()
	sh := cli.NewShell(tree, rw{r, t.out}, "pptpbox> ")
	b.con.setSink(sh)
	fmt.Fprintf(sh, "pptpbox %s on %s: ? lists the commands, Tab completes, logout ends.\n", b.version, b.boardName())
	timedOut := runIdle(t.in, shellIdle, func() bool { return busy.Load() > 0 }, func(ictx context.Context) {
		stop := context.AfterFunc(ictx, logout)
		defer stop()
		if err := sh.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			b.lg.Warn("console", "err", err)
		}
	})
	b.con.setSink(nil)
	r.end()
	if timedOut {
		fmt.Fprintf(b.console, "\nIdle for %s: logged out.\n", shellIdle)
	} else {
		fmt.Fprint(b.console, "Logged out.\n")
	}
	b.lg.Info("console logout", "idle", timedOut)
}

// markBusy wraps every command of the tree so that busy counts the running ones (the idle
// logout waits for them: a trace or log follow may run for hours) and the idle time starts
// again when one ends.
func markBusy(n *cli.Node, busy *atomic.Int32, in *ttyIn) {
	if run := n.Run; run != nil {
		n.Run = func(ctx context.Context, c *cli.Call) error {
			busy.Add(1)
			defer func() {
				busy.Add(-1)
				in.touch()
			}()
			return run(ctx, c)
		}
	}
	for _, c := range n.Children {
		markBusy(c, busy, in)
	}
}

// consoleTree is pkg/console's command tree over boxd's control socket, with what only
// the init can do: reboot, poweroff, the USB stick, status, version, restart, log, logout,
// password, and the debug shell when enabled.
func (b *box) consoleTree(api control.API, logout func()) *cli.Tree {
	tree := console.New(api, console.Local{
		Reboot:    func(context.Context) error { b.requestShutdown("reboot"); return nil },
		Poweroff:  func(context.Context) error { b.requestShutdown("poweroff"); return nil },
		SaveToUSB: b.saveToUSB,
	})
	top := []*cli.Node{
		{Name: "status", Help: "version, uptime, ports, config, services", Run: b.cmdStatus},
		{Name: "version", Help: "the firmware version", Run: func(_ context.Context, c *cli.Call) error {
			_, err := fmt.Fprintln(c.Out, b.version)
			return err
		}},
		{Name: "restart", Help: "restart boxd (sessions end)", Run: b.cmdRestart},
		{Name: "log", Help: "the init's log with boxd's lines (the console shows warnings and above)", Run: b.cmdLog,
			Args:     []cli.Arg{{Name: "N", Help: "the last N lines (default 50)", Optional: true}},
			Children: []*cli.Node{{Name: "follow", Help: "every new log line, until Ctrl-C", Run: b.cmdLogFollow}}},
		{Name: "password", Help: "set the console password ([console] password_hash, committed)", Run: b.cmdPassword(api)},
		{Name: "logout", Help: "end this console session", Run: func(context.Context, *cli.Call) error { logout(); return nil }},
		b.upgradeNode(),
		b.factoryResetNode(),
	}
	if b.cmd.Flag(optDebug) || DebugShellRequested(b.runningConfig()) {
		top = append(top, &cli.Node{Name: "shell", Help: "debug shell (enabled by " + optDebug + "=1 or [console] debug_shell)", Run: b.cmdShell})
	}
	if b.cmd.Flag(optTest) {
		top = append(top, &cli.Node{Name: "test-watchdog-hang", Help: "stop feeding the watchdog (test only)", Run: func(_ context.Context, c *cli.Call) error {
			if b.wd == nil {
				return fmt.Errorf("no watchdog")
			}
			b.wd.hang()
			_, err := fmt.Fprintln(c.Out, "watchdog: no longer fed")
			return err
		}})
	}
	tree.Root.Children = append(tree.Root.Children, top...)
	return tree
}

func (b *box) cmdStatus(_ context.Context, c *cli.Call) error {
	out := c.Out
	fmt.Fprintf(out, "pptpbox %s board %s up %s\n", b.version, b.boardName(), time.Since(b.start).Round(time.Second))
	b.printPorts(out)
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
}

func (b *box) cmdRestart(_ context.Context, c *cli.Call) error {
	return b.restartBoxd(c.Out)
}

func (b *box) cmdLog(_ context.Context, c *cli.Call) error {
	n := 50
	if a := c.Arg(0); a != "" {
		v, err := strconv.Atoi(a)
		if err != nil || v <= 0 {
			return &cli.UsageError{Msg: fmt.Sprintf("log: N is a number of lines, not %q", a)}
		}
		n = v
	}
	lines := b.ring.Lines()
	for _, l := range lines[max(0, len(lines)-n):] {
		fmt.Fprintln(c.Out, l)
	}
	return nil
}

// cmdLogFollow shows every log line on the console until Ctrl-C.
func (b *box) cmdLogFollow(ctx context.Context, c *cli.Call) error {
	done := b.con.showAll()
	defer done()
	fmt.Fprintln(c.Out, "every log line from now on (Ctrl-C to stop)")
	<-ctx.Done()
	return nil
}

// cmdPassword sets [console] password_hash: the new password twice, hidden, hashed here,
// then staged and committed through boxd (so it is written to the config store like any
// commit). Staged changes of someone else's are not committed with it.
func (b *box) cmdPassword(api control.API) func(context.Context, *cli.Call) error {
	return func(ctx context.Context, c *cli.Call) error {
		if c.AskSecret == nil {
			return control.Errorf(control.CodeRefused, "password needs the console")
		}
		p1, err := c.AskSecret("New console password: ")
		if err != nil {
			return err
		}
		p2, err := c.AskSecret("Again: ")
		if err != nil {
			return err
		}
		if p1 != p2 {
			return fmt.Errorf("the two passwords differ: nothing changed")
		}
		h, err := login.Hash(p1)
		if err != nil {
			return fmt.Errorf("password: %w", err)
		}
		diff, err := api.ConfigDiff(ctx)
		if err != nil {
			return err
		}
		if diff != "" {
			return control.Errorf(control.CodeRefused, "there are staged changes (config diff): commit or discard them first")
		}
		if err := api.ConfigSet(ctx, "console.password_hash", strconv.Quote(h)); err != nil {
			return err
		}
		if _, err := api.ConfigCommit(ctx, control.CommitRequest{Comment: "console password"}); err != nil {
			api.ConfigDiscard(ctx)
			return err
		}
		b.lg.Info("console password changed")
		_, err = fmt.Fprintln(c.Out, "console password set: the next login asks for it")
		return err
	}
}

// cmdShell runs the debug shell on the console device as its controlling terminal, with
// the terminal in its normal (cooked) mode and every log line shown, as before the prompt.
func (b *box) cmdShell(context.Context, *cli.Call) error {
	t := b.tty
	t.in.pause()
	defer t.in.resume()
	showAll := b.con.showAll()
	defer showAll()
	t.cooked()
	b.con.setRaw(false)
	defer func() {
		if t.raw() == nil {
			b.con.setRaw(true)
		}
	}()
	tty, err := os.OpenFile(b.consoleDevice(), os.O_RDWR, 0)
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

// saveToUSB writes the running config to pptpbox.toml on the USB stick labelled PPTPBOX
// (the one mounted at boot, else one plugged in since), then leaves it as it found it.
func (b *box) saveToUSB(_ context.Context, cfg control.ConfigText) (string, error) {
	const flags = unix.MS_NOATIME | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	dev, mounted := b.usbDev, b.usbDev != ""
	if !mounted {
		for _, v := range scanFAT() {
			if v.Label == "PPTPBOX" {
				dev = v.Dev
				break
			}
		}
	}
	if dev == "" {
		return "", control.Errorf(control.CodeNotFound, "no USB stick labelled PPTPBOX")
	}
	if mounted {
		if err := unix.Mount("", usbMount, "", unix.MS_REMOUNT|flags, "flush"); err != nil {
			return "", fmt.Errorf("USB stick %s: remount for writing: %w", dev, err)
		}
		defer unix.Mount("", usbMount, "", unix.MS_REMOUNT|unix.MS_RDONLY|flags, "")
	} else {
		os.MkdirAll(usbMount, 0o755)
		if err := unix.Mount(dev, usbMount, "vfat", flags, "flush"); err != nil {
			return "", fmt.Errorf("USB stick %s: %w", dev, err)
		}
		defer unix.Unmount(usbMount, 0)
	}
	if err := WriteFileAtomic(usbMount, ConfigName, []byte(cfg.Text)); err != nil {
		return "", fmt.Errorf("USB stick %s: %w", dev, err)
	}
	unix.Sync()
	b.lg.Info("config saved to USB", "dev", dev)
	return dev + ":/" + ConfigName, nil
}
