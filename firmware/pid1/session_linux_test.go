package pid1

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/cli"
	"github.com/pptpbox/pptpbox/pkg/control/controltest"
	"github.com/pptpbox/pptpbox/pkg/login"
)

// testBox is a box with what the console's commands read.
func testBox(cmdline string, config string) *box {
	b := &box{version: "v9", ring: NewRing(10), cmd: ParseCmdline(cmdline), lg: slog.New(slog.DiscardHandler)}
	b.decision.Use = &Candidate{Source: SourceFlash, Path: "/config/pptpbox.toml", Data: []byte(config)}
	b.boxdSvc = &service{name: "boxd"}
	return b
}

func run(t *testing.T, tree *cli.Tree, line string, answers ...string) (string, error) {
	t.Helper()
	words, err := cli.Split(line)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tree.Parse(words)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	ask := func(string) (string, error) {
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	err = p.Node.Run(context.Background(), &cli.Call{Path: p.Path, Args: p.Args, Opts: p.Opts, Flags: p.Flags, Out: &out, Ask: ask, AskSecret: ask})
	return out.String(), err
}

// TestConsoleTree: the init's commands beside pkg/console's; shell only when enabled;
// test commands only with pptpbox.test; reboot only after a yes.
func TestConsoleTree(t *testing.T) {
	b := testBox("", "")
	b.shutdownC = make(chan string, 1)
	loggedOut := false
	tree := b.consoleTree(&controltest.Fake{}, func() { loggedOut = true })
	for _, cmd := range []string{"status", "version", "restart", "log", "log follow", "password", "logout", "reboot", "poweroff", "config save-to-usb", "show sessions"} {
		if _, err := tree.Parse(strings.Fields(cmd)); err != nil {
			t.Errorf("%s: %v", cmd, err)
		}
	}
	for _, cmd := range []string{"shell", "test-watchdog-hang"} {
		if _, err := tree.Parse([]string{cmd}); !cli.IsUsage(err) {
			t.Errorf("%s without the flag: %v", cmd, err)
		}
	}
	if out, err := run(t, tree, "version"); err != nil || out != "v9\n" {
		t.Errorf("version: %q %v", out, err)
	}
	if out, err := run(t, tree, "status"); err != nil || !strings.Contains(out, "pptpbox v9 board unknown") || !strings.Contains(out, "config flash (/config/pptpbox.toml)") {
		t.Errorf("status: %q %v", out, err)
	}
	if _, err := run(t, tree, "sh sess"); err != nil {
		t.Errorf("sh sess: %v", err)
	}
	run(t, tree, "logout")
	if !loggedOut {
		t.Error("logout did not end the session")
	}
	if _, err := run(t, tree, "reboot", "n"); err != nil || len(b.shutdownC) != 0 {
		t.Errorf("reboot, no: %v", err)
	}
	if _, err := run(t, tree, "reboot", "y"); err != nil || <-b.shutdownC != "reboot" {
		t.Errorf("reboot, yes: %v", err)
	}

	b = testBox("pptpbox.test=1", "[console]\ndebug_shell = true\n")
	tree = b.consoleTree(&controltest.Fake{}, func() {})
	for _, cmd := range []string{"shell", "test-watchdog-hang"} {
		if _, err := tree.Parse([]string{cmd}); err != nil {
			t.Errorf("%s with the flag: %v", cmd, err)
		}
	}
	// With the debug shell, "sh sess" is still show sessions: shell takes no words.
	if p, err := tree.Parse([]string{"sh", "sess"}); err != nil || p.Path[0] != "show" {
		t.Errorf("sh sess with shell: %v", err)
	}
}

// TestPasswordCommand: the password asked twice is hashed and committed as
// console.password_hash; different answers or staged changes change nothing.
func TestPasswordCommand(t *testing.T) {
	b := testBox("", "")
	f := &controltest.Fake{}
	tree := b.consoleTree(f, func() {})
	if _, err := run(t, tree, "password", "one", "two"); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("different answers: %v", err)
	}
	if len(f.Calls()) != 0 {
		t.Errorf("calls after a mismatch: %q", f.Calls())
	}
	f.Diff = "+x = 1\n"
	if _, err := run(t, tree, "password", "s3cret", "s3cret"); err == nil || !strings.Contains(err.Error(), "staged changes") {
		t.Errorf("with staged changes: %v", err)
	}
	f.Diff = ""
	out, err := run(t, tree, "password", "s3cret", "s3cret")
	if err != nil || !strings.Contains(out, "console password set") {
		t.Fatalf("password: %q %v", out, err)
	}
	var set string
	for _, c := range f.Calls() {
		if v, ok := strings.CutPrefix(c, "ConfigSet console.password_hash "); ok {
			set = v
		}
	}
	if set == "" || !strings.HasSuffix(strings.Join(f.Calls(), ","), "ConfigCommit 0s") {
		t.Fatalf("calls %q", f.Calls())
	}
	if !login.Verify(strings.Trim(set, `"`), "s3cret") {
		t.Errorf("committed hash %s does not verify", set)
	}
}

// TestMarkBusy: a running command counts as busy; its end restarts the idle time.
func TestMarkBusy(t *testing.T) {
	in, _ := pipeTTY(t)
	var busy atomic.Int32
	var during int32
	tree := &cli.Tree{Root: &cli.Node{Children: []*cli.Node{{Name: "show", Children: []*cli.Node{
		{Name: "x", Run: func(context.Context, *cli.Call) error { during = busy.Load(); return nil }}}}}}}
	markBusy(tree.Root, &busy, in)
	in.last = in.last.Add(-shellIdle)
	if err := tree.Exec(context.Background(), []string{"show", "x"}, &bytes.Buffer{}, nil); err != nil {
		t.Fatal(err)
	}
	if during != 1 || busy.Load() != 0 {
		t.Errorf("busy during %d, after %d", during, busy.Load())
	}
	if in.idle(in.last) != 0 || in.idle(in.last.Add(shellIdle)) != shellIdle {
		t.Error("idle")
	}
	if d := in.idle(time.Now()); d > time.Second {
		t.Errorf("idle %s after a command", d)
	}
}

// TestRunIdle: no input for the limit ends the prompt (timed out); a running command
// (busy) holds it off, and a prompt that ends by itself has not timed out.
func TestRunIdle(t *testing.T) {
	in, _ := pipeTTY(t)
	in.last = time.Now().Add(-time.Hour)
	ended := false
	if !runIdle(in, time.Second, func() bool { return false }, func(ctx context.Context) {
		<-ctx.Done()
		ended = true
	}) || !ended {
		t.Fatal("an idle prompt was not ended")
	}
	if runIdle(in, time.Second, func() bool { return true }, func(ctx context.Context) {
		select {
		case <-ctx.Done():
			t.Error("ended while a command runs")
		case <-time.After(2500 * time.Millisecond):
		}
	}) {
		t.Fatal("timed out while busy")
	}
}
