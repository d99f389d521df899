package pid1

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Command is one console command.
type Command struct {
	Help string
	Run  func(args []string, out io.Writer) error
}

// Prompt is the console's minimal status prompt: not a shell. Commands it does not know go
// to Fallback (the boxd CLI) when set.
type Prompt struct {
	Name     string // shown before "> "
	Commands map[string]Command
	Fallback func(args []string, out io.Writer) error
}

// Serve reads command lines from in until EOF or until a command returns ErrExitPrompt.
func (p *Prompt) Serve(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	fmt.Fprintf(out, "%s> ", p.Name)
	for sc.Scan() {
		if err := p.Exec(sc.Text(), out); err == ErrExitPrompt {
			return nil
		}
		fmt.Fprintf(out, "%s> ", p.Name)
	}
	return sc.Err()
}

// ErrExitPrompt ends Serve.
var ErrExitPrompt = fmt.Errorf("exit prompt")

// Exec runs one command line.
func (p *Prompt) Exec(line string, out io.Writer) error {
	args := strings.Fields(line)
	if len(args) == 0 {
		return nil
	}
	if args[0] == "help" || args[0] == "?" {
		p.help(out)
		return nil
	}
	c, ok := p.Commands[args[0]]
	var err error
	switch {
	case ok:
		err = c.Run(args[1:], out)
	case p.Fallback != nil:
		err = p.Fallback(args, out)
	default:
		err = fmt.Errorf("unknown command %q; try help", args[0])
	}
	if err != nil && err != ErrExitPrompt {
		fmt.Fprintf(out, "error: %v\n", err)
	}
	return err
}

func (p *Prompt) help(out io.Writer) {
	names := make([]string, 0, len(p.Commands))
	for n := range p.Commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "  %-18s %s\n", n, p.Commands[n].Help)
	}
	if p.Fallback != nil {
		fmt.Fprintf(out, "  %-18s %s\n", "sessions|stats|...", "passed to boxctl (the boxd CLI)")
	}
}
