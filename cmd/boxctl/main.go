// Command boxctl is the operator's console over boxd's control socket: the
// same command tree as the serial console (pkg/console).
//
//	boxctl [--socket PATH] [--json] COMMAND...   run one command
//	boxctl                                       the interactive console (on a terminal)
//	boxctl -h, boxctl help                       the commands
//
// Exit status: 0 ok, 1 another error, 2 usage (a bad command line), 3 boxd
// is not running, 4 refused (a config that does not validate: its
// file:line: key errors are printed), 5 not found (no such session, user).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/pptpbox/pptpbox/pkg/cli"
	"github.com/pptpbox/pptpbox/pkg/console"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// The exit statuses.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitNotRunning = 3
	exitRefused    = 4
	exitNotFound   = 5
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is boxctl with args; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("boxctl", flag.ContinueOnError)
	sock := fs.String("socket", control.DefaultSocket, "boxd's control socket")
	asJSON := fs.Bool("json", false, "print replies as JSON")
	upSock := fs.String("upgrade-socket", control.UpgradeSocket, "the init's upgrade socket (boxctl upgrade FILE)")
	fs.SetOutput(io.Discard)
	var t *tty
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t = &tty{f: f}
	}
	var tree *cli.Tree
	usage := func(w io.Writer) {
		fmt.Fprint(w, `usage: boxctl [--socket PATH] [--json] COMMAND...
       boxctl            (on a terminal: the interactive console)

Commands may be abbreviated to a unique prefix (sh sess); --json prints
the reply as JSON. Exit status: 0 ok, 1 another error, 2 usage, 3 boxd is
not running, 4 refused (a config that does not validate), 5 not found.
The commands of the old boxctl work as before: sessions, stats,
disconnect USER, ping (no host: is boxd alive). On a box, boxctl upgrade
FILE hands a signed update file to the init, which installs it and starts it.

flags:
`)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintln(w, "\ncommands:")
		tree.WriteHelp(w, tree.Root, nil)
	}
	err := fs.Parse(args)
	tree = console.New(control.NewClient(*sock), t.local())
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "boxctl: %v (boxctl -h lists the commands)\n", err)
		return exitUsage
	}
	words := fs.Args()
	switch {
	case len(words) == 1 && words[0] == "help":
		usage(stdout)
		return exitOK
	case len(words) == 0 && t != nil:
		return t.interactive(ctx, tree, stdout, stderr)
	case len(words) == 0:
		fmt.Fprintln(stderr, "boxctl: no command (boxctl -h lists them; the interactive console needs a terminal)")
		return exitUsage
	}
	if words[0] == "upgrade" {
		err = runUpgrade(ctx, *upSock, words[1:], stdout)
	} else if isLegacy(words) {
		err = runLegacy(ctx, control.NewClient(*sock), words, *asJSON, stdout)
	} else {
		if *asJSON {
			words = append(words, "--"+console.FlagJSON)
		}
		err = tree.Exec(ctx, words, stdout, nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "boxctl: %v\n", err)
		if cli.IsUsage(err) {
			fmt.Fprintln(stderr, "boxctl: boxctl -h lists the commands")
		}
	}
	return exitCode(err)
}

func usageError(msg string) error { return &cli.UsageError{Msg: msg} }

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// exitCode is the exit status for a command's error.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case cli.IsUsage(err):
		return exitUsage
	case errors.Is(err, control.ErrNotRunning):
		return exitNotRunning
	}
	var e *control.Error
	if !errors.As(err, &e) {
		return exitError
	}
	switch e.Code {
	case control.CodeBadRequest:
		return exitUsage
	case control.CodeRefused:
		return exitRefused
	case control.CodeNotFound:
		return exitNotFound
	}
	return exitError
}

// tty is boxctl's terminal, when stdin is one.
type tty struct {
	f      *os.File
	cooked *term.State // set while the interactive console has it raw
}

// interactive runs the console on the terminal, in raw mode.
func (t *tty) interactive(ctx context.Context, tree *cli.Tree, stdout, stderr io.Writer) int {
	fd := int(t.f.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		fmt.Fprintf(stderr, "boxctl: %v\n", err)
		return exitError
	}
	t.cooked = old
	defer term.Restore(fd, old)
	sh := cli.NewShell(tree, struct {
		io.Reader
		io.Writer
	}{t.f, stdout}, "boxctl> ")
	if w, h, err := term.GetSize(fd); err == nil {
		sh.SetSize(w, h)
	}
	fmt.Fprint(sh, "pptpbox console: ? lists the commands, Tab completes, Ctrl-D leaves\n")
	if err := sh.Run(ctx); err != nil && ctx.Err() == nil {
		term.Restore(fd, old)
		fmt.Fprintf(stderr, "boxctl: %v\n", err)
		return exitError
	}
	return exitOK
}

// local is what boxctl does itself: on a terminal, config edit runs
// $EDITOR (vi if unset). Reboot and the USB stick are the box console's.
func (t *tty) local() console.Local {
	if t == nil {
		return console.Local{}
	}
	return console.Local{Edit: t.edit}
}

// edit runs the editor on text in a temporary file, the terminal as it
// was before raw mode.
func (t *tty) edit(ctx context.Context, text string) (string, error) {
	f, err := os.CreateTemp("", "pptpbox-*.toml")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	fd := int(t.f.Fd())
	if t.cooked != nil {
		if raw, err := term.GetState(fd); err == nil {
			term.Restore(fd, t.cooked)
			defer term.Restore(fd, raw)
		}
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", editor+` "$1"`, "editor", f.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = t.f, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w", editor, err)
	}
	b, err := os.ReadFile(f.Name())
	return string(b), err
}
