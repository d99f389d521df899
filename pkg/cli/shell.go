package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Shell runs a Tree interactively: line editing and history
// (golang.org/x/term: VT100 sequences only, no terminfo, so it works on a
// serial line as on a terminal), Tab completion, ? help, and Ctrl-C, which
// cancels the running command's context (a stream such as a trace runs
// until then) and clears the line at the prompt. Ctrl-D on an empty line,
// or exit, ends it.
//
// The terminal must be in raw mode (term.MakeRaw) or be a serial line
// without the kernel's line discipline: the Shell echoes and edits itself.
type Shell struct {
	tree   *Tree
	term   *term.Terminal
	in     *input
	prompt string
	hist   *history
	done   chan struct{}
	ctx    context.Context // Run's, for completions
	// ErrorOut formats a command's error; nil: "% " and the error's text.
	ErrorOut func(w io.Writer, err error)
}

// errExit is what the exit command returns to end Run.
var errExit = errors.New("exit")

// NewShell runs tree on rw with prompt. What the commands print and what
// Write is given goes through the terminal, above the prompt and the line
// being typed, never into it.
func NewShell(tree *Tree, rw io.ReadWriter, prompt string) *Shell {
	s := &Shell{prompt: prompt, hist: &history{}, done: make(chan struct{}), ctx: context.Background()}
	root := *tree.Root
	root.Children = append(slices.Clip(root.Children), &Node{
		Name: "exit", Help: "leave the console",
		Run: func(context.Context, *Call) error { return errExit },
	})
	s.tree = &Tree{Root: &root, Flags: tree.Flags}
	s.in = newInput(rw, s.done)
	s.term = term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{s.in, rw}, prompt)
	s.term.History = s.hist
	s.term.AutoCompleteCallback = s.key
	return s
}

// SetSize tells the line editor the terminal's width and height. A size
// of 0 (a serial line, a pty nobody sized) keeps the default 80x24.
func (s *Shell) SetSize(width, height int) error {
	if width <= 0 || height <= 0 {
		return nil
	}
	return s.term.SetSize(width, height)
}

// Write prints p above the prompt (log lines, notices).
func (s *Shell) Write(p []byte) (int, error) { return s.term.Write(p) }

// Run reads and runs commands until Ctrl-D on an empty line or exit (nil),
// the input's end, or ctx's.
func (s *Shell) Run(ctx context.Context) error {
	s.ctx = ctx
	stop := context.AfterFunc(ctx, func() { close(s.done) })
	defer stop()
	for {
		line, err := s.term.ReadLine()
		if errors.Is(err, io.EOF) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			return err
		}
		if err := s.runLine(ctx, line); errors.Is(err, errExit) {
			return nil
		}
	}
}

// runLine runs one line, Ctrl-C cancelling it, and prints its error.
func (s *Shell) runLine(ctx context.Context, line string) error {
	words, err := Split(line)
	if err != nil || len(words) == 0 {
		s.printError(err)
		return err
	}
	if p, err := s.tree.Parse(words); err == nil && p.Node.Secret {
		s.hist.forget(line)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.in.setInterrupt(cancel, false)
	err = s.tree.exec(cctx, words, &Call{Out: s.term, Ask: s.ask(cctx, cancel, false), AskSecret: s.ask(cctx, cancel, true)})
	s.in.setInterrupt(nil, false)
	if errors.Is(err, context.Canceled) && cctx.Err() != nil && ctx.Err() == nil {
		fmt.Fprintln(s.term, "^C")
		return nil
	}
	if !errors.Is(err, errExit) {
		s.printError(err)
	}
	return err
}

func (s *Shell) printError(err error) {
	switch {
	case err == nil:
	case s.ErrorOut != nil:
		s.ErrorOut(s.term, err)
	default:
		fmt.Fprintf(s.term, "%% %s\n", err)
	}
}

// ask is Call.Ask (Call.AskSecret with hidden: no echo): a line read with
// prompt, not kept in the history; Ctrl-C answers it with nothing and
// cancels the command.
func (s *Shell) ask(ctx context.Context, cancel func(), hidden bool) func(string) (string, error) {
	return func(prompt string) (string, error) {
		s.hist.pause(true)
		defer s.hist.pause(false)
		s.in.setInterrupt(cancel, true)
		defer s.in.setInterrupt(cancel, false)
		var line string
		var err error
		if hidden {
			line, err = s.term.ReadPassword(prompt)
		} else {
			s.term.SetPrompt(prompt)
			line, err = s.term.ReadLine()
			s.term.SetPrompt(s.prompt)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return line, err
	}
}

// key is the line editor's hook on each key: Tab completes, ? describes
// the next words (unless inside a quote), keyClear (Ctrl-C) clears the line.
func (s *Shell) key(line string, pos int, key rune) (string, int, bool) {
	switch key {
	case keyClear:
		return "", 0, true
	case '\t':
		ctx, cancel := context.WithTimeout(s.ctx, 3*time.Second)
		defer cancel()
		return s.complete(ctx, line, pos)
	case '?':
		if inQuote(line[:pos]) {
			return "", 0, false
		}
		ctx, cancel := context.WithTimeout(s.ctx, 3*time.Second)
		defer cancel()
		s.term.Write([]byte(s.tree.Describe(ctx, line[:pos])))
		return line, pos, true
	}
	return "", 0, false
}

// complete replaces the word under the cursor with its only completion,
// or with the candidates' longer common prefix, or lists the candidates.
func (s *Shell) complete(ctx context.Context, line string, pos int) (string, int, bool) {
	cands, start := s.tree.Complete(ctx, line[:pos])
	_, cur, _ := partial(line[:pos])
	put := func(w string) (string, int, bool) {
		return line[:start] + w + line[pos:], start + len(w), true
	}
	switch {
	case len(cands) == 0:
		return line, pos, true
	case len(cands) == 1:
		return put(Quote(cands[0]) + " ")
	}
	if p := commonPrefix(cands); len(p) > len(cur) && !strings.ContainsAny(p, " \t\"'\\") {
		return put(p)
	}
	s.term.Write([]byte(strings.Join(cands, "  ") + "\n"))
	return line, pos, true
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// history is the line editor's history: the last maxHistory lines, none
// while paused (the answers to questions).
type history struct {
	mu     sync.Mutex
	lines  []string // oldest first
	paused bool
}

const maxHistory = 200

func (h *history) pause(on bool) {
	h.mu.Lock()
	h.paused = on
	h.mu.Unlock()
}

func (h *history) Add(entry string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.paused || strings.TrimSpace(entry) == "" || (len(h.lines) > 0 && h.lines[len(h.lines)-1] == entry) {
		return
	}
	h.lines = append(h.lines, entry)
	if len(h.lines) > maxHistory {
		h.lines = slices.Delete(h.lines, 0, len(h.lines)-maxHistory)
	}
}

// forget removes the last entry if it is line (ReadLine added it).
func (h *history) forget(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		h.lines = h.lines[:n-1]
	}
}

func (h *history) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.lines)
}

func (h *history) At(idx int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lines[len(h.lines)-1-idx]
}
