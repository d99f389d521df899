package cli

import (
	"context"
	"slices"
	"strings"
)

// position is where a partial command line stands: the node reached, the
// arguments taken, and what the next word may be.
type position struct {
	node    *Node
	path    []string
	args    []string
	opts    map[string]bool
	value   *Option // the word before was this option's keyword
	help    bool    // inside `help ...`: only command words follow
	invalid bool    // the words so far do not parse
}

// locate walks the complete words before the cursor as Parse would.
func (t *Tree) locate(words []string) position {
	words = t.takeFlags(words, map[string]bool{})
	p := position{node: t.Root, opts: map[string]bool{}}
	if len(words) > 0 && words[0] == helpName && child(t.Root, helpName) == nil {
		p.help = true
		words = words[1:]
	}
	i := 0
	for ; i < len(words) && len(p.node.Children) > 0; i++ {
		c, err := match(p.node, nil, words[i], words[i+1:])
		if err != nil || (c == nil && (p.help || p.node.Run == nil || len(p.node.Args) == 0)) {
			p.invalid = true
			return p
		}
		if c == nil {
			break
		}
		p.node = c
		p.path = append(p.path, c.Name)
	}
	if p.help && i < len(words) {
		p.invalid = true
		return p
	}
	n := p.node
	rest := len(n.Args) > 0 && n.Args[len(n.Args)-1].Rest
	for _, w := range words[i:] {
		if p.value != nil {
			p.value = nil
			continue
		}
		if k := len(p.args); len(p.opts) == 0 && (k < len(n.Args) || rest) {
			if a := n.Args[min(k, len(n.Args)-1)]; !a.Optional || option(n, w) == nil {
				p.args = append(p.args, w)
				continue
			}
		}
		o := option(n, w)
		if o == nil || p.opts[o.Name] {
			p.invalid = true
			return p
		}
		p.opts[o.Name], p.value = true, o
	}
	return p
}

// choice is one possible next word: a literal (a command word, an option,
// a candidate value) or, with Arg set, a description of an argument.
type choice struct {
	word string
	help string
	arg  bool // word is "<name>": not typed as it is
}

// choices lists what may come at position p.
func (t *Tree) choices(ctx context.Context, p position) []choice {
	var cs []choice
	if p.invalid {
		return nil
	}
	n := p.node
	if p.value != nil {
		cs = append(cs, choice{word: "<" + p.value.Value + ">", help: p.value.Help, arg: true})
		if p.value.Complete != nil {
			for _, v := range p.value.Complete(ctx) {
				cs = append(cs, choice{word: v})
			}
		}
		return cs
	}
	if len(p.args) == 0 {
		for _, c := range n.Children {
			cs = append(cs, choice{word: c.Name, help: c.Help})
		}
		if p.help || (len(n.Children) > 0 && n.Run == nil) {
			if len(p.path) == 0 && !p.help {
				cs = append(cs, choice{word: helpName, help: "help on a command"})
			}
			return cs
		}
	}
	k := len(p.args)
	if len(p.opts) == 0 && (k < len(n.Args) || (len(n.Args) > 0 && n.Args[len(n.Args)-1].Rest)) {
		a := n.Args[min(k, len(n.Args)-1)]
		cs = append(cs, choice{word: "<" + a.Name + ">", help: a.Help, arg: true})
		if a.Complete != nil {
			for _, v := range a.Complete(ctx, p.args) {
				cs = append(cs, choice{word: v})
			}
		}
		if !a.Optional && !a.Rest {
			return cs
		}
	}
	for _, o := range n.Options {
		if !p.opts[o.Name] {
			cs = append(cs, choice{word: o.Name, help: o.Help + " (" + o.Name + " <" + o.Value + ">)"})
		}
	}
	if n.Run != nil {
		cs = append(cs, choice{word: "<cr>", help: "run " + strings.Join(p.path, " "), arg: true})
	}
	return cs
}

// Complete returns the words that may replace the word under the cursor
// (the end of line), and the byte offset where that word starts.
func (t *Tree) Complete(ctx context.Context, line string) (cands []string, start int) {
	words, cur, start := partial(line)
	if strings.HasPrefix(cur, "-") {
		for _, f := range t.Flags {
			if strings.HasPrefix("--"+f.Name, cur) {
				cands = append(cands, "--"+f.Name)
			}
		}
		return cands, start
	}
	for _, c := range t.choices(ctx, t.locate(words)) {
		if !c.arg && strings.HasPrefix(c.word, cur) && !slices.Contains(cands, c.word) {
			cands = append(cands, c.word)
		}
	}
	return cands, start
}

// Describe is what `?` prints for the line up to the cursor: each
// possible next word (starting with the word under the cursor) with its
// help, "<cr>" when the line is a command as it is.
func (t *Tree) Describe(ctx context.Context, line string) string {
	words, cur, _ := partial(line)
	p := t.locate(words)
	if p.invalid {
		if _, err := t.Parse(words); err != nil {
			return "% " + err.Error() + "\n"
		}
		return "% no completion here\n"
	}
	var rows [][2]string
	var values []string
	for _, c := range t.choices(ctx, p) {
		switch {
		case c.arg:
			if cur == "" || c.word != "<cr>" {
				rows = append(rows, [2]string{"  " + c.word, c.help})
			}
		case c.help == "" && strings.HasPrefix(c.word, cur):
			values = append(values, c.word)
		case strings.HasPrefix(c.word, cur):
			rows = append(rows, [2]string{"  " + c.word, c.help})
		}
	}
	if len(values) > 0 {
		rows = append(rows, [2]string{"    " + strings.Join(values, " "), ""})
	}
	if len(rows) == 0 {
		return "% nothing matches " + Quote(cur) + "\n"
	}
	return columns(rows)
}
