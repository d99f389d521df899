package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTree is a small router tree: show (sessions, session <sel>, log [N]
// with follow), set <key> <value>, ping <host> [count N], users add.
func testTree(ran func(c *Call)) *Tree {
	run := func(ctx context.Context, c *Call) error { ran(c); return nil }
	users := func(context.Context, []string) []string { return []string{"alice", "albert", "bob"} }
	return &Tree{
		Flags: []Flag{{Name: "json", Help: "print JSON"}},
		Root: &Node{Children: []*Node{
			{Name: "show", Help: "show state", Children: []*Node{
				{Name: "sessions", Help: "the live sessions", Run: run},
				{Name: "session", Help: "one session in detail", Run: run,
					Args: []Arg{{Name: "user|id|address", Help: "a session", Complete: users}}},
				{Name: "log", Help: "boxd's log", Run: run, Args: []Arg{{Name: "N", Help: "lines", Optional: true}},
					Children: []*Node{{Name: "follow", Help: "new lines as they come", Run: run}}},
			}},
			{Name: "set", Help: "stage a value", Run: run, Args: []Arg{{Name: "key", Help: "dotted key"}, {Name: "value", Help: "TOML value"}}},
			{Name: "ping", Help: "ping from the box", Run: run, Args: []Arg{{Name: "host", Help: "name or address"}},
				Options: []Option{{Name: "count", Value: "N", Help: "probes", Complete: func(context.Context) []string { return []string{"1", "5"} }}}},
			{Name: "users", Help: "local users", Children: []*Node{
				{Name: "add", Help: "add a user", Run: run, Secret: true, Args: []Arg{{Name: "name", Help: "user name"},
					{Name: "password", Help: "password"}, {Name: "ip", Help: "fixed address", Optional: true}}},
			}},
		}},
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		err  bool
	}{
		{"  show   sessions ", []string{"show", "sessions"}, false},
		{`users add bob "pass word" 10.0.0.2`, []string{"users", "add", "bob", "pass word", "10.0.0.2"}, false},
		{`set a.b "say \"hi\" \\o/"`, []string{"set", "a.b", `say "hi" \o/`}, false},
		{`set a.b 'it''s' x\ y ""`, []string{"set", "a.b", "its", "x y", ""}, false},
		{`set a "open`, nil, true},
	} {
		got, err := Split(tc.line)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("Split(%q) = %q, %v; want %q (error %v)", tc.line, got, err, tc.want, tc.err)
		}
	}
	for _, w := range []string{"plain", "two words", `q"uote`, `back\slash`, ""} {
		if got, err := Split(Quote(w)); err != nil || len(got) != 1 || got[0] != w {
			t.Errorf("Split(Quote(%q)) = %q, %v", w, got, err)
		}
	}
}

// TestParse: full words and unique prefixes resolve to the command, its
// arguments, options and flags; unknown, ambiguous and incomplete lines
// and wrong argument counts are usage errors naming the candidates.
func TestParse(t *testing.T) {
	tree := testTree(func(*Call) {})
	for _, tc := range []struct {
		line  string
		path  string
		args  []string
		opts  map[string]string
		flags map[string]bool
		help  bool
		err   string
	}{
		{line: "show sessions", path: "show sessions"},
		{line: "sh sess", path: "show sessions"},
		{line: "sh sess alice", path: "show session", args: []string{"alice"}},
		{line: "sh session #7 --json", path: "show session", args: []string{"#7"}, flags: map[string]bool{"json": true}},
		{line: "-json sh lo", path: "show log", flags: map[string]bool{"json": true}},
		{line: "sh lo 50", path: "show log", args: []string{"50"}},
		{line: "sh lo f", path: "show log follow"},
		{line: "ping 192.0.2.1 co 3", path: "ping", args: []string{"192.0.2.1"}, opts: map[string]string{"count": "3"}},
		{line: "u a bob secret", path: "users add", args: []string{"bob", "secret"}},
		{line: "set -- a.b --json", path: "set", args: []string{"a.b", "--json"}},
		{line: "help show", path: "show", help: true},
		{line: "show help", path: "show", help: true},
		{line: "help", path: "", help: true},
		{line: "s", err: `ambiguous "s": show, set`},
		{line: "show bogus", err: `show: "bogus" is not a command: one of sessions, session, log`},
		{line: "show", err: "show: incomplete command: one of sessions, session, log"},
		{line: "show session", err: "missing <user|id|address>"},
		{line: "users add bob", err: "missing <password>"},
		{line: "users add bob pw 10.0.0.9 extra", err: `unexpected "extra"`},
		{line: "ping h count", err: "count needs a value <N>"},
		{line: "help nope", err: `help: "nope" is not a command`},
	} {
		words, _ := Split(tc.line)
		p, err := tree.Parse(words)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !IsUsage(err) {
				t.Errorf("%q: %v, want a usage error with %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if tc.opts == nil {
			tc.opts = map[string]string{}
		}
		if tc.flags == nil {
			tc.flags = map[string]bool{}
		}
		if got := strings.Join(p.Path, " "); got != tc.path || !reflect.DeepEqual(p.Args, tc.args) ||
			!reflect.DeepEqual(p.Opts, tc.opts) || !reflect.DeepEqual(p.Flags, tc.flags) || p.Help != tc.help {
			t.Errorf("%q: path %q args %q opts %v flags %v help %v; want %q %q %v %v %v",
				tc.line, got, p.Args, p.Opts, p.Flags, p.Help, tc.path, tc.args, tc.opts, tc.flags, tc.help)
		}
	}
}

func TestComplete(t *testing.T) {
	tree := testTree(func(*Call) {})
	ctx := context.Background()
	for _, tc := range []struct {
		line  string
		want  []string
		start int
	}{
		{"", []string{"show", "set", "ping", "users", "help"}, 0},
		{"sh", []string{"show"}, 0},
		{"show s", []string{"sessions", "session"}, 5},
		{"show session ", []string{"alice", "albert", "bob"}, 13},
		{"show session al", []string{"alice", "albert"}, 13},
		{"show session alice ", nil, 19},
		{"show log ", []string{"follow"}, 9},
		{"ping h ", []string{"count"}, 7},
		{"ping h count ", []string{"1", "5"}, 13},
		{"ping h count 5 ", nil, 15},
		{"show sessions --j", []string{"--json"}, 14},
		{"help sh", []string{"show"}, 5},
		{"help show l", []string{"log"}, 10},
		{"bogus ", nil, 6},
		{`users add "b`, nil, 10},
	} {
		got, start := tree.Complete(ctx, tc.line)
		if !reflect.DeepEqual(got, tc.want) || start != tc.start {
			t.Errorf("Complete(%q) = %q at %d, want %q at %d", tc.line, got, start, tc.want, tc.start)
		}
	}
}

// TestDescribe: ? lists the next words with their help, the argument
// expected and its candidates, <cr> when the line runs as it is.
func TestDescribe(t *testing.T) {
	tree := testTree(func(*Call) {})
	ctx := context.Background()
	for _, tc := range []struct {
		line        string
		want, never []string
	}{
		{"", []string{"show", "show state", "users", "local users", "help"}, []string{"<cr>"}},
		{"show ", []string{"sessions  the live sessions", "session   one session in detail", "log"}, []string{"<cr>", "set"}},
		{"show se", []string{"sessions", "session"}, []string{"log"}},
		{"show log ", []string{"<N>", "lines", "follow", "new lines as they come", "<cr>", "run show log"}, nil},
		{"show session ", []string{"<user|id|address>", "a session", "alice albert bob"}, []string{"<cr>"}},
		{"show session a", []string{"alice albert"}, []string{"bob"}},
		{"show session alice ", []string{"<cr>"}, []string{"alice"}},
		{"ping 1.2.3.4 ", []string{"count", "probes (count <N>)", "<cr>"}, nil},
		{"show bogus ", []string{`% show: "bogus" is not a command`}, nil},
		{"show x", []string{`% nothing matches x`}, nil},
	} {
		got := tree.Describe(ctx, tc.line)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("Describe(%q) lacks %q:\n%s", tc.line, w, got)
			}
		}
		for _, w := range tc.never {
			if strings.Contains(got, w) {
				t.Errorf("Describe(%q) has %q:\n%s", tc.line, w, got)
			}
		}
	}
}

// TestHelp: help lists every command with its usage; help on a group its
// commands; help on a command its arguments and options.
func TestHelp(t *testing.T) {
	tree := testTree(func(*Call) {})
	ctx := context.Background()
	help := func(line string) string {
		var b bytes.Buffer
		words, _ := Split(line)
		if err := tree.Exec(ctx, words, &b, nil); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return b.String()
	}
	all := help("help")
	for _, w := range []string{"show sessions", "show session <user|id|address>", "show log [<N>]", "show log follow",
		"set <key> <value>", "ping <host> [count <N>]", "users add <name> <password> [<ip>]", "--json", "help [<command>...]"} {
		if !strings.Contains(all, w) {
			t.Errorf("help lacks %q:\n%s", w, all)
		}
	}
	if got := help("show help"); !strings.Contains(got, "show log follow") || strings.Contains(got, "users add") {
		t.Errorf("show help:\n%s", got)
	}
	if got := help("help ping"); !strings.Contains(got, "ping <host> [count <N>]\n  ping from the box") || !strings.Contains(got, "count <N>  probes") {
		t.Errorf("help ping:\n%s", got)
	}
}

// syncBuffer is the terminal's screen as the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shellRig runs a Shell on a pipe: the test types into keys and reads the
// screen; each command run is sent on runs.
type shellRig struct {
	keys   *io.PipeWriter
	screen *syncBuffer
	runs   chan string
	ended  chan error
	shell  *Shell
}

func newShellRig(t *testing.T, extra ...*Node) *shellRig {
	t.Helper()
	r := &shellRig{screen: &syncBuffer{}, runs: make(chan string, 16), ended: make(chan error, 1)}
	tree := testTree(func(c *Call) {
		fmt.Fprintf(c.Out, "ran %s %q\n", strings.Join(c.Path, " "), c.Args)
		r.runs <- strings.Join(append(c.Path, c.Args...), " ")
	})
	tree.Root.Children = append(tree.Root.Children, extra...)
	pr, pw := io.Pipe()
	r.keys = pw
	sh := NewShell(tree, struct {
		io.Reader
		io.Writer
	}{pr, r.screen}, "box> ")
	r.shell = sh
	go func() { r.ended <- sh.Run(context.Background()) }()
	t.Cleanup(func() { pw.Close() })
	return r
}

func (r *shellRig) typ(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(r.keys, s); err != nil {
		t.Fatal(err)
	}
}

// waitScreen waits until the screen shows s, as an operator looks before typing.
func (r *shellRig) waitScreen(t *testing.T, s string) {
	t.Helper()
	r.waitFor(t, "the screen to show "+s, func(screen string) bool { return strings.Contains(screen, s) })
}

// atPrompt waits for the prompt after the last command.
func (r *shellRig) atPrompt(t *testing.T) {
	t.Helper()
	r.waitFor(t, "the prompt", func(screen string) bool { return strings.HasSuffix(screen, "box> ") })
}

func (r *shellRig) waitFor(t *testing.T, what string, ok func(screen string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(r.screen.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s:\n%s", what, r.screen.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *shellRig) ran(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.runs:
		if got != want {
			t.Fatalf("ran %q, want %q; screen:\n%s", got, want, r.screen.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%q did not run; screen:\n%s", want, r.screen.String())
	}
}

// TestShell types as an operator does: abbreviations, Tab, ? in the
// middle of a line (which keeps the line), Ctrl-C at the prompt (which
// clears it), an error, and exit.
func TestShell(t *testing.T) {
	r := newShellRig(t)
	r.typ(t, "sh sess\r")
	r.ran(t, "show sessions")
	r.typ(t, "sh\t lo\t\r") // Tab completes show, then log
	r.ran(t, "show log")
	r.typ(t, "show session al\t") // alice, albert: the common prefix "al" stays
	r.typ(t, "i\t\r")
	r.ran(t, "show session alice")
	r.typ(t, "show ?")
	r.typ(t, "sessions\r")
	r.ran(t, "show sessions")
	if s := r.screen.String(); !strings.Contains(s, "sessions  the live sessions") {
		t.Errorf("? did not list show's words:\n%s", s)
	}
	r.atPrompt(t)                          // a Ctrl-C typed ahead would go to the command still running
	r.typ(t, "bogus\x03show log follow\r") // Ctrl-C at the prompt clears the line
	r.ran(t, "show log follow")
	r.typ(t, `users add bob "a?b" ?`)
	r.typ(t, "\r")
	r.ran(t, "users add bob a?b")
	r.typ(t, "nope\r")
	r.typ(t, "\x1b[A\x1b[A\r") // up twice: nope, then show log follow (users add is secret)
	r.ran(t, "show log follow")
	r.typ(t, "exit\r")
	select {
	case err := <-r.ended:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exit did not end the shell")
	}
	s := r.screen.String()
	for _, w := range []string{`% "nope" is not a command`, "<ip>", "fixed address", "\r\n"} {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

// TestShellInterrupt: Ctrl-C while a command runs cancels its context,
// and the shell goes on; a question is answered from the keyboard and
// Ctrl-C answers it with nothing.
func TestShellInterrupt(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	answers := make(chan string, 2)
	r := newShellRig(t,
		&Node{Name: "follow", Help: "until Ctrl-C", Run: func(ctx context.Context, c *Call) error {
			close(started)
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}},
		&Node{Name: "reboot", Help: "asks first", Run: func(ctx context.Context, c *Call) error {
			a, err := c.Ask("Reboot? [y/N] ")
			answers <- fmt.Sprintf("%q %v", a, err)
			return nil
		}})
	r.typ(t, "follow\r")
	<-started
	r.typ(t, "\x03")
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C did not cancel the running command")
	}
	r.typ(t, "reboot\ry\r")
	if a := <-answers; a != `"y" <nil>` {
		t.Fatalf("answer %s", a)
	}
	r.typ(t, "reboot\ryes")
	r.waitScreen(t, "Reboot? [y/N] yes") // Ctrl-C typed ahead would be the prompt's
	r.typ(t, "\x03")
	if a := <-answers; a != `"" context canceled` {
		t.Fatalf("answer after Ctrl-C %s", a)
	}
	r.typ(t, "sh sess\r")
	r.ran(t, "show sessions")
	if s := r.screen.String(); !strings.Contains(s, "Reboot? [y/N] ") {
		t.Errorf("no question on the screen:\n%s", s)
	}
	r.keys.Close()
	if err := <-r.ended; err != nil {
		t.Fatalf("Run at the input's end: %v", err)
	}
}

// TestShellAskSecret: a hidden question does not echo its answer and the
// answer stays out of the history.
func TestShellAskSecret(t *testing.T) {
	answers := make(chan string, 1)
	r := newShellRig(t,
		&Node{Name: "password", Help: "asks hidden", Run: func(ctx context.Context, c *Call) error {
			a, err := c.AskSecret("New password: ")
			answers <- fmt.Sprintf("%q %v", a, err)
			return nil
		}})
	r.typ(t, "password\rs3cret-word\r")
	if a := <-answers; a != `"s3cret-word" <nil>` {
		t.Fatalf("answer %s", a)
	}
	r.waitScreen(t, "New password: ")
	if s := r.screen.String(); strings.Contains(s, "s3cret") {
		t.Errorf("the hidden answer was echoed:\n%s", s)
	}
	if r.shell.hist.Len() != 1 || r.shell.hist.At(0) != "password" {
		t.Errorf("history %d entries, want the command only", r.shell.hist.Len())
	}
	r.keys.Close()
	<-r.ended
}
