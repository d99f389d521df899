package pid1

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Kernel command line option: ask for the console password even when the board does not.
const optLogin = "pptpbox.login"

// Idle limits of the console: the login prompt, and the CLI's prompt.
const (
	loginIdle = 60 * time.Second
	shellIdle = 15 * time.Minute
)

// setupConsole makes sure fds 0-2 are the console and sets up the log: every line goes to
// the ring (the console's log command), the kernel log and, filtered (conOut), the console.
func (b *box) setupConsole() {
	if _, err := os.Stdout.Stat(); err != nil {
		if c, err := os.OpenFile("/dev/console", os.O_RDWR, 0); err == nil {
			for fd := 0; fd <= 2; fd++ {
				unix.Dup3(int(c.Fd()), fd, 0)
			}
		}
	}
	b.con = &conOut{raw: &syncWriter{w: os.Stdout}}
	b.console = b.con
	b.ring = NewRing(2000)
	b.ring.Tee = io.MultiWriter(b.con.logWriter(), openKmsg())
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

// notice logs msg (INFO) and, once the console shows only warnings, prints it there too:
// a change of the box's config state the operator at the console should see.
func (b *box) notice(msg string) {
	b.lg.Info(msg)
	if b.con.isQuiet() {
		fmt.Fprintln(b.console, msg)
	}
}

// consoleDevice is the serial console's device file.
func (b *box) consoleDevice() string {
	if b.board != nil && b.board.Console.Device != "" {
		return "/dev/" + b.board.Console.Device
	}
	return "/dev/console"
}

// tty is the console terminal: its input shared by the prompts, raw mode on and off.
type tty struct {
	f     *os.File
	in    *ttyIn
	out   io.Writer // the device, unfiltered (the prompts' terminals write here)
	saved *term.State
}

func (t *tty) raw() error {
	st, err := term.MakeRaw(int(t.f.Fd()))
	if err == nil && t.saved == nil {
		t.saved = st
	}
	return err
}

func (t *tty) cooked() {
	if t.saved != nil {
		term.Restore(int(t.f.Fd()), t.saved)
	}
}

// flushInput drops what was typed and not read yet (during a login's wait).
func (t *tty) flushInput() {
	unix.IoctlSetInt(int(t.f.Fd()), unix.TCFLSH, unix.TCIFLUSH)
}

// console_ runs the console for good: the login (when required), the CLI, and after a
// logout or an idle timeout a wait for Enter.
func (b *box) console_() {
	// /dev/console, not the board's device: when the debug shell (the session leader of
	// the serial tty) exits, the kernel hangs up every open file of that tty
	// (disassociate_ctty -> tty_vhangup_session), except those opened as /dev/console.
	f, err := os.OpenFile("/dev/console", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		b.lg.Error("console", "dev", "/dev/console", "err", err)
		return
	}
	t := &tty{f: f, in: newTTYIn(f), out: &syncWriter{w: f}}
	if err := t.raw(); err != nil {
		b.lg.Warn("console: raw mode", "err", err)
	} else {
		b.con.setRaw(true)
	}
	b.tty = t
	b.con.setQuiet()
	gate := newLoginGate()
	for {
		ok := true
		if b.loginRequired() {
			ok = b.login(t, gate)
		}
		if ok {
			b.session(t)
		}
		b.waitEnter(t)
	}
}

// loginRequired: the board says so, or the kernel command line does.
func (b *box) loginRequired() bool {
	return (b.board != nil && b.board.Console.Login) || b.cmd.Flag(optLogin)
}

// waitEnter waits, quietly, for a key before the next login or session.
func (b *box) waitEnter(t *tty) {
	fmt.Fprint(b.console, "\nPress Enter to log in.\n")
	r := t.in.take()
	defer r.end()
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		if err != nil {
			time.Sleep(time.Second)
			return
		}
		for _, c := range buf[:n] {
			if c == '\r' || c == '\n' {
				return
			}
		}
	}
}

// runIdle runs fn with a context that ends when the input has been idle for limit while
// busy() is false; it reports whether the idle limit ended it.
func runIdle(in *ttyIn, limit time.Duration, busy func() bool, fn func(ctx context.Context)) (timedOut bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return timedOut
		case <-tick.C:
			if !timedOut && !busy() && in.idle(time.Now()) >= limit {
				timedOut = true
				cancel()
			}
		}
	}
}
