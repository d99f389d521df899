// Package cli is a router-style command line: a tree of command words with
// help on every node, `?` listing the possible next words, Tab completion
// and unique-prefix abbreviation (`sh sess` is `show sessions`), run one
// command at a time from argv (Tree.Exec) or interactively with line
// editing and history on a terminal or a serial line (Shell).
//
// It knows nothing of what the commands do: pkg/console builds the tree of
// the box's commands on it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Node is one word of the command tree: a group of further words
// (Children), a command (Run), or both (`config commit` runs, and
// `config commit confirmed` is its child).
type Node struct {
	Name     string
	Help     string // one line: what ? and help print beside the name
	Children []*Node
	Args     []Arg    // positional arguments, the optional ones last
	Options  []Option // keyword options after the arguments: `count 5`
	Run      func(ctx context.Context, c *Call) error
	// Secret keeps the command's lines out of the shell's history (they
	// carry a password).
	Secret bool
}

// Arg is one positional argument.
type Arg struct {
	Name     string // as the usage shows it: "user|id|address"
	Help     string
	Optional bool
	Rest     bool // takes every remaining word (the last Arg only)
	// Complete returns the candidates for the argument (nil: none), given
	// the arguments before it.
	Complete func(ctx context.Context, before []string) []string
}

// Option is a keyword taking one value, after the positional arguments.
type Option struct {
	Name     string // the keyword: "count"
	Value    string // the value's name: "N"
	Help     string
	Complete func(ctx context.Context) []string
}

// Flag is a boolean flag the whole tree shares, written --name anywhere
// on the line (`show sessions --json`).
type Flag struct {
	Name, Help string
}

// Tree is a command tree: Root's children are the commands.
type Tree struct {
	Root  *Node
	Flags []Flag
}

// Call is one run of a command.
type Call struct {
	Path  []string          // the command's words, in full
	Args  []string          // the positional arguments given
	Opts  map[string]string // the options given
	Flags map[string]bool   // the flags given
	Out   io.Writer
	// Ask asks the operator a question and returns the answer; nil when
	// no one can answer (not a terminal).
	Ask func(prompt string) (string, error)
	// AskSecret asks like Ask without echoing the answer (a password);
	// nil when no one can answer.
	AskSecret func(prompt string) (string, error)
}

// Arg is the i-th positional argument, "" if not given.
func (c *Call) Arg(i int) string {
	if i < len(c.Args) {
		return c.Args[i]
	}
	return ""
}

// Flag reports whether the flag --name was given.
func (c *Call) Flag(name string) bool { return c.Flags[name] }

// UsageError is a command line that does not parse: an unknown or
// ambiguous word, a missing or extra argument.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Parsed is a command line resolved against the tree.
type Parsed struct {
	Node  *Node
	Path  []string
	Args  []string
	Opts  map[string]string
	Flags map[string]bool
	// Help is a request for Node's help (`help show`, `show help`).
	Help bool
}

// helpName is the word that asks for help: a command of its own at the
// top, and a last word of any group.
const helpName = "help"

// Parse resolves words: the longest path of command words (each in full
// or a unique prefix of it), then the node's arguments and options, with
// the tree's flags taken out wherever they are.
func (t *Tree) Parse(words []string) (*Parsed, error) {
	p := &Parsed{Opts: map[string]string{}, Flags: map[string]bool{}}
	words = t.takeFlags(words, p.Flags)
	n := t.Root
	i := 0
	if len(words) > 0 && words[0] == helpName && child(n, helpName) == nil {
		return t.parseHelp(words[1:], p)
	}
	for ; i < len(words) && len(n.Children) > 0; i++ {
		c, err := match(n, p.Path, words[i], words[i+1:])
		if err != nil {
			return nil, err
		}
		if c == nil {
			if words[i] == helpName && i == len(words)-1 {
				p.Node, p.Help = n, true
				return p, nil
			}
			if n.Run != nil && len(n.Args) > 0 {
				break // an argument
			}
			return nil, usagef("%s%q is not a command: %s", where(p.Path), words[i], names(n))
		}
		n = c
		p.Path = append(p.Path, c.Name)
	}
	p.Node = n
	if n.Run == nil {
		if len(p.Path) == 0 {
			return nil, usagef("no command: %s", names(n))
		}
		return nil, usagef("%s: incomplete command: %s", strings.Join(p.Path, " "), names(n))
	}
	return p, parseArgs(n, p, words[i:])
}

// parseHelp resolves `help [words...]`: the node the words name (the root
// for none).
func (t *Tree) parseHelp(words []string, p *Parsed) (*Parsed, error) {
	n := t.Root
	for j, w := range words {
		c, err := match(n, p.Path, w, words[j+1:])
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, usagef("help: %s%q is not a command: %s", where(p.Path), w, names(n))
		}
		n = c
		p.Path = append(p.Path, c.Name)
	}
	p.Node, p.Help = n, true
	return p, nil
}

// parseArgs takes n's positional arguments and then its options from words.
func parseArgs(n *Node, p *Parsed, words []string) error {
	k := 0
	for ; k < len(n.Args) && len(words) > 0; k++ {
		a := n.Args[k]
		if a.Rest {
			p.Args = append(p.Args, words...)
			words = nil
			break
		}
		if a.Optional && option(n, words[0]) != nil {
			break
		}
		p.Args = append(p.Args, words[0])
		words = words[1:]
	}
	for ; k < len(n.Args); k++ {
		if !n.Args[k].Optional && !n.Args[k].Rest {
			return usagef("%s: missing <%s> (usage: %s)", strings.Join(p.Path, " "), n.Args[k].Name, Usage(n, p.Path))
		}
	}
	for len(words) > 0 {
		o := option(n, words[0])
		if o == nil {
			return usagef("%s: unexpected %q (usage: %s)", strings.Join(p.Path, " "), words[0], Usage(n, p.Path))
		}
		if len(words) < 2 {
			return usagef("%s: %s needs a value <%s>", strings.Join(p.Path, " "), o.Name, o.Value)
		}
		p.Opts[o.Name] = words[1]
		words = words[2:]
	}
	return nil
}

// takeFlags removes the tree's flags (--name, or -name) from words, up to
// a "--", which it removes too: what follows is taken as it is.
func (t *Tree) takeFlags(words []string, into map[string]bool) []string {
	out := make([]string, 0, len(words))
	for i, w := range words {
		if w == "--" {
			return append(out, words[i+1:]...)
		}
		if f := t.flag(w); f != nil {
			into[f.Name] = true
			continue
		}
		out = append(out, w)
	}
	return out
}

func (t *Tree) flag(w string) *Flag {
	name, ok := strings.CutPrefix(w, "--")
	if !ok {
		name, ok = strings.CutPrefix(w, "-")
	}
	if !ok || name == "" {
		return nil
	}
	for i := range t.Flags {
		if t.Flags[i].Name == name {
			return &t.Flags[i]
		}
	}
	return nil
}

// match finds the child of n that word names: its full name, or a prefix
// of exactly one child's name, or of several of which exactly one takes
// the rest of the line (`show sess` is `show sessions`, `show sess alice`
// is `show session alice`). nil when none does; an error listing the
// candidates when several do.
func match(n *Node, path []string, word string, rest []string) (*Node, error) {
	if c := child(n, word); c != nil {
		return c, nil
	}
	var found []*Node
	for _, c := range n.Children {
		if strings.HasPrefix(c.Name, word) {
			found = append(found, c)
		}
	}
	if len(found) > 1 {
		var fit []*Node
		for _, c := range found {
			if takes(c, len(rest)) {
				fit = append(fit, c)
			}
		}
		if len(fit) == 1 {
			return fit[0], nil
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	cands := make([]string, len(found))
	for i, c := range found {
		cands[i] = c.Name
	}
	return nil, usagef("%sambiguous %q: %s", where(path), word, strings.Join(cands, ", "))
}

// takes reports whether n may be followed by n words: a further command
// word, or its arguments (options count as words too).
func takes(n *Node, words int) bool {
	if words > 0 && len(n.Children) > 0 {
		return true
	}
	if n.Run == nil {
		return false
	}
	required, most := 0, len(n.Args)
	for _, a := range n.Args {
		if !a.Optional && !a.Rest {
			required++
		}
		if a.Rest {
			most = words
		}
	}
	if len(n.Options) > 0 {
		most = words
	}
	return required <= words && words <= most
}

func child(n *Node, name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// option is the option of n that w names (in full or a unique prefix).
func option(n *Node, w string) *Option {
	var found *Option
	for i := range n.Options {
		o := &n.Options[i]
		if o.Name == w {
			return o
		}
		if w != "" && strings.HasPrefix(o.Name, w) {
			if found != nil {
				return nil
			}
			found = o
		}
	}
	return found
}

func where(path []string) string {
	if len(path) == 0 {
		return ""
	}
	return strings.Join(path, " ") + ": "
}

// names lists n's children for an error: "one of: a, b, c".
func names(n *Node) string {
	var s []string
	for _, c := range n.Children {
		s = append(s, c.Name)
	}
	return "one of " + strings.Join(s, ", ")
}

// Exec runs the command words name, writing to out; ask is Call.Ask. A
// help request prints the node's help.
func (t *Tree) Exec(ctx context.Context, words []string, out io.Writer, ask func(string) (string, error)) error {
	return t.exec(ctx, words, &Call{Out: out, Ask: ask})
}

// exec parses words and runs the command with call's output and questions.
func (t *Tree) exec(ctx context.Context, words []string, call *Call) error {
	p, err := t.Parse(words)
	if err != nil {
		return err
	}
	if p.Help {
		return t.WriteHelp(call.Out, p.Node, p.Path)
	}
	call.Path, call.Args, call.Opts, call.Flags = p.Path, p.Args, p.Opts, p.Flags
	return p.Node.Run(ctx, call)
}

// Usage is n's usage line: its path, arguments and options.
func Usage(n *Node, path []string) string {
	var b strings.Builder
	b.WriteString(strings.Join(path, " "))
	for _, a := range n.Args {
		switch {
		case a.Rest:
			fmt.Fprintf(&b, " [<%s>...]", a.Name)
		case a.Optional:
			fmt.Fprintf(&b, " [<%s>]", a.Name)
		default:
			fmt.Fprintf(&b, " <%s>", a.Name)
		}
	}
	for _, o := range n.Options {
		fmt.Fprintf(&b, " [%s <%s>]", o.Name, o.Value)
	}
	return b.String()
}

// WriteHelp prints n's help: for a command its usage, arguments and
// options; then every command below it, one line each.
func (t *Tree) WriteHelp(w io.Writer, n *Node, path []string) error {
	var rows [][2]string
	if n.Run != nil {
		fmt.Fprintf(w, "%s\n  %s\n", Usage(n, path), n.Help)
		for _, a := range n.Args {
			rows = append(rows, [2]string{"  <" + a.Name + ">", a.Help})
		}
		for _, o := range n.Options {
			rows = append(rows, [2]string{"  " + o.Name + " <" + o.Value + ">", o.Help})
		}
	} else if len(path) > 0 {
		fmt.Fprintf(w, "%s: %s\n", strings.Join(path, " "), n.Help)
	}
	var walk func(n *Node, path []string)
	walk = func(n *Node, path []string) {
		for _, c := range n.Children {
			p := append(slices.Clip(path), c.Name)
			if c.Run != nil {
				rows = append(rows, [2]string{"  " + Usage(c, p), c.Help})
			}
			walk(c, p)
		}
	}
	walk(n, path)
	if len(path) == 0 {
		rows = append(rows, [2]string{"  help [<command>...]", "help on a command; ? lists the next words, Tab completes them"})
		for _, f := range t.Flags {
			rows = append(rows, [2]string{"  --" + f.Name, f.Help})
		}
	}
	_, err := io.WriteString(w, columns(rows))
	return err
}

// columns lays rows out in two columns.
func columns(rows [][2]string) string {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	var b strings.Builder
	for _, r := range rows {
		if r[1] == "" {
			b.WriteString(r[0] + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s  %s\n", width, r[0], r[1])
	}
	return b.String()
}
