package confstore

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// fakeClock runs timers when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// advance moves the clock and runs the timers that fall due (not holding
// the clock's lock, as time.AfterFunc runs them on their own goroutine).
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

const base = `# office box
[pptp]
listen = "127.0.0.1:1723"

[[user]]
name = "alice"
password = "alice-pw"
`

// rig is a Manager over a store in a temporary directory whose apply
// records what it was given.
type rig struct {
	m       *Manager
	clock   *fakeClock
	store   Store
	applied []*config.Config
	fail    error
}

func newRig(t *testing.T) *rig {
	dir := t.TempDir()
	r := &rig{clock: &fakeClock{now: time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)}}
	r.store = Store{Path: filepath.Join(dir, "config", "pptpbox.toml"), RunPath: filepath.Join(dir, "run", "pptpbox.toml")}
	for _, p := range []string{r.store.Path, r.store.RunPath} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte(base), 0o600)
	}
	r.m = New(Options{Store: r.store, Clock: r.clock, Apply: r.apply}, base)
	return r
}

func (r *rig) apply(ctx context.Context, c *config.Config) (control.CommitResult, error) {
	if r.fail != nil {
		return control.CommitResult{}, r.fail
	}
	r.applied = append(r.applied, c)
	names := []string{}
	for _, u := range c.Users {
		names = append(names, u.Name)
	}
	return control.CommitResult{Applied: []string{"users: " + strings.Join(names, ",")}}, nil
}

func (r *rig) files(t *testing.T) (store, run, prev string, pending bool) {
	t.Helper()
	s, _ := os.ReadFile(r.store.Path)
	u, _ := os.ReadFile(r.store.RunPath)
	p, _ := os.ReadFile(r.store.PrevPath())
	_, err := os.Stat(r.store.PendingPath())
	return string(s), string(u), string(p), err == nil
}

func TestEditsValidateAndKeepTheCandidate(t *testing.T) {
	r := newRig(t)
	m := r.m
	err := m.Set("pptp.mttu", "1300")
	if control.CodeOf(err) != control.CodeRefused || !strings.Contains(err.Error(), "pptp.mttu") {
		t.Fatalf("unknown key: %v", err)
	}
	err = m.Set("pptp.mtu", "big")
	if control.CodeOf(err) != control.CodeRefused || !strings.Contains(err.Error(), "pptp.mtu") {
		t.Fatalf("wrong type: %v", err)
	}
	err = m.Set("pptp.mtu", "100")
	if control.CodeOf(err) != control.CodeRefused || !strings.Contains(err.Error(), "candidate:4: pptp.mtu: must be between 576 and 1500") {
		t.Fatalf("out of range: %v", err)
	}
	if d := m.Diff(); d != "" {
		t.Fatalf("refused edits changed the candidate:\n%s", d)
	}
	if err := m.Set("pptp.mtu", "1300"); err != nil {
		t.Fatal(err)
	}
	if err := m.AddUser(User{Name: "bob", Password: "bob-pw"}); err != nil {
		t.Fatal(err)
	}
	if err := m.AddUser(User{Name: "carol", Password: "c", IP: "not-an-ip"}); control.CodeOf(err) != control.CodeRefused || !strings.Contains(err.Error(), "user.2.ip") {
		t.Fatalf("bad ip: %v", err)
	}
	if err := m.DeleteUser("nobody"); control.CodeOf(err) != control.CodeNotFound {
		t.Fatalf("delete nobody: %v", err)
	}
	want := "--- running\n+++ candidate\n@@ -1,7 +1,12 @@\n # office box\n [pptp]\n listen = \"127.0.0.1:1723\"\n+mtu = 1300\n \n [[user]]\n name = \"alice\"\n password = \"alice-pw\"\n+\n+[[user]]\n+name = \"bob\"\n+password = \"bob-pw\"\n"
	if d := m.Diff(); d != want {
		t.Errorf("diff\n%s\nwant\n%s", d, want)
	}
	if c := m.Check(); !c.OK {
		t.Errorf("check: %+v", c)
	}
	// A loaded text with errors is kept to be fixed; an edit may fix it
	// one key at a time but never adds an error.
	res, _ := m.Load("[pptp]\nmtu = 1\nlisten = \"x\"\n")
	if res.OK || len(res.Errors) != 2 {
		t.Fatalf("load: %+v", res)
	}
	if err := m.Set("pptp.mtu", "1400"); err != nil {
		t.Errorf("a fixing edit was refused: %v", err)
	}
	if err := m.Set("log.level", "loud"); err == nil {
		t.Error("an edit adding an error was kept")
	}
	if c := m.Check(); c.OK || len(c.Errors) != 1 || !strings.Contains(c.Errors[0], "pptp.listen") {
		t.Errorf("check after the fix: %+v", c)
	}
	if _, err := m.Commit(context.Background(), control.CommitRequest{}); control.CodeOf(err) != control.CodeRefused {
		t.Errorf("commit of an invalid candidate: %v", err)
	}
	m.Discard()
	if m.Diff() != "" {
		t.Error("discard kept changes")
	}
}

func TestCommitWritesStoreAndRollbackPoint(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.m.AddUser(User{Name: "bob", Password: "bob-pw"}); err != nil {
		t.Fatal(err)
	}
	cand, _ := r.m.Show(control.Candidate)
	res, err := r.m.Commit(ctx, control.CommitRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Path != r.store.Path || len(res.Applied) != 1 || res.Applied[0] != "users: alice,bob" {
		t.Errorf("result %+v", res)
	}
	store, run, prev, pending := r.files(t)
	if store != cand.Text || run != cand.Text || prev != base || pending {
		t.Errorf("files: store %q run %q prev %q pending %v", store, run, prev, pending)
	}
	if r.m.Running() != cand.Text || r.m.Diff() != "" {
		t.Error("running is not the committed text")
	}
	// Nothing to commit.
	if res, err := r.m.Commit(ctx, control.CommitRequest{}); err != nil || res.Changed {
		t.Errorf("empty commit: %+v %v", res, err)
	}
	// Rollback brings back the first file and keeps the second as the
	// rollback point.
	res, err = r.m.Rollback(ctx)
	if err != nil || !res.Changed {
		t.Fatalf("rollback: %+v %v", res, err)
	}
	store, run, prev, _ = r.files(t)
	if store != base || run != base || prev != cand.Text || r.m.Running() != base {
		t.Errorf("after rollback: store %q run %q prev %q", store, run, prev)
	}
	if got := r.applied[len(r.applied)-1]; len(got.Users) != 1 {
		t.Errorf("rollback applied %d users", len(got.Users))
	}

	// An apply that fails leaves the running config in the store.
	r.m.Set("pptp.mtu", "1300")
	r.fail = os.ErrPermission
	if _, err := r.m.Commit(ctx, control.CommitRequest{}); err == nil {
		t.Fatal("a failed apply committed")
	}
	if store, run, _, _ := r.files(t); store != base || run != base {
		t.Errorf("failed apply left store %q run %q", store, run)
	}
}

func TestCommitConfirmedReverts(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.m.AddUser(User{Name: "bob", Password: "bob-pw"})
	res, err := r.m.Commit(ctx, control.CommitRequest{ConfirmWithin: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := r.clock.Now().Add(time.Minute); !res.RevertAt.Equal(want) {
		t.Errorf("revert at %v, want %v", res.RevertAt, want)
	}
	if p := r.m.Pending(); p == nil || !p.RevertAt.Equal(res.RevertAt) {
		t.Errorf("pending %+v", p)
	}
	if _, _, _, pending := r.files(t); !pending {
		t.Fatal("no pending marker")
	}
	r.clock.advance(59 * time.Second)
	if r.m.Running() == base {
		t.Fatal("reverted early")
	}
	r.clock.advance(time.Second)
	store, run, _, pending := r.files(t)
	if r.m.Running() != base || store != base || run != base || pending || r.m.Pending() != nil {
		t.Fatalf("not reverted: store %q pending %v", store, pending)
	}
	if got := r.applied[len(r.applied)-1]; len(got.Users) != 1 {
		t.Errorf("the revert applied %d users", len(got.Users))
	}

	// Confirmed in time: nothing reverts.
	r.m.AddUser(User{Name: "bob", Password: "bob-pw"})
	if _, err := r.m.Commit(ctx, control.CommitRequest{ConfirmWithin: time.Minute}); err != nil {
		t.Fatal(err)
	}
	committed := r.m.Running()
	r.clock.advance(30 * time.Second)
	if res, err := r.m.Confirm(); err != nil || !res.Confirmed {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	r.clock.advance(time.Hour)
	if store, _, _, pending := r.files(t); r.m.Running() != committed || store != committed || pending {
		t.Error("a confirmed commit reverted")
	}
	if _, err := r.m.Confirm(); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("confirm with nothing pending: %v", err)
	}
}

// A second commit while one waits keeps the first rollback point, and a
// plain commit confirms.
func TestCommitConfirmedTwice(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.m.Set("pptp.mtu", "1300")
	r.m.Commit(ctx, control.CommitRequest{ConfirmWithin: time.Minute})
	r.m.Set("pptp.mtu", "1200")
	r.m.Commit(ctx, control.CommitRequest{ConfirmWithin: time.Minute})
	if _, _, prev, _ := r.files(t); prev != base {
		t.Errorf("rollback point %q, want the text before the first commit", prev)
	}
	r.clock.advance(2 * time.Minute)
	if r.m.Running() != base {
		t.Errorf("reverted to %q", r.m.Running())
	}

	// commit confirmed again with nothing new moves the deadline.
	r.m.Set("pptp.mtu", "1300")
	r.m.Commit(ctx, control.CommitRequest{ConfirmWithin: time.Minute})
	r.clock.advance(50 * time.Second)
	if res, err := r.m.Commit(ctx, control.CommitRequest{ConfirmWithin: time.Minute}); err != nil || res.Changed || !res.RevertAt.Equal(r.clock.Now().Add(time.Minute)) {
		t.Errorf("commit confirmed again: %+v %v", res, err)
	}
	r.clock.advance(50 * time.Second)
	if r.m.Running() == base {
		t.Error("reverted at the first deadline after it was moved")
	}
	if res, err := r.m.Commit(ctx, control.CommitRequest{}); err != nil || !res.Confirmed {
		t.Errorf("plain commit while pending: %+v %v", res, err)
	}
	r.clock.advance(2 * time.Minute)
	if r.m.Running() == base {
		t.Error("reverted after a plain commit confirmed")
	}
}

// A boxd that stops while a commit confirmed waits reverts at its next
// start, whatever the deadline.
func TestRevertPendingAtStart(t *testing.T) {
	r := newRig(t)
	r.m.AddUser(User{Name: "bob", Password: "bob-pw"})
	if _, err := r.m.Commit(context.Background(), control.CommitRequest{ConfirmWithin: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// boxd is gone: a new start finds the marker.
	log := discardLog()
	reverted, err := RevertPending(r.store, log)
	if err != nil || !reverted {
		t.Fatalf("RevertPending: %v %v", reverted, err)
	}
	if store, run, _, pending := r.files(t); store != base || run != base || pending {
		t.Errorf("after the revert: store %q run %q pending %v", store, run, pending)
	}
	if reverted, err := RevertPending(r.store, log); reverted || err != nil {
		t.Errorf("second start: %v %v", reverted, err)
	}
	// A marker whose rollback point is gone is dropped; the committed
	// file stays.
	os.WriteFile(r.store.PendingPath(), []byte("{}"), 0o600)
	os.Remove(r.store.PrevPath())
	if reverted, err := RevertPending(r.store, log); reverted || err != nil {
		t.Errorf("no rollback point: %v %v", reverted, err)
	}
	if _, err := os.Stat(r.store.PendingPath()); err == nil {
		t.Error("the marker stayed")
	}
}

func TestReload(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	os.WriteFile(r.store.RunPath, []byte("[pptp]\nmtu = 9000\n"), 0o600)
	_, err := r.m.Reload(ctx)
	var e *control.Error
	if control.CodeOf(err) != control.CodeRefused || !asErr(err, &e) || len(e.Details) != 1 ||
		e.Details[0] != r.store.RunPath+":2: pptp.mtu: must be between 576 and 1500, got 9000" {
		t.Fatalf("reload of a bad file: %#v", err)
	}
	if r.m.Running() != base || len(r.applied) != 0 {
		t.Error("a refused reload changed something")
	}
	os.WriteFile(r.store.RunPath, []byte("[pptp]\nmtu = 1300\n"), 0o600)
	res, err := r.m.Reload(ctx)
	if err != nil || res.Config != r.store.RunPath || r.m.Running() != "[pptp]\nmtu = 1300\n" {
		t.Fatalf("reload: %+v %v", res, err)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func asErr(err error, e **control.Error) bool { return errors.As(err, e) }

// The config a commit applies is named as the file boxd runs with (what
// show system and the logs print), not "candidate".
func TestCommitNamesTheRunFile(t *testing.T) {
	r := newRig(t)
	r.m.Set("pptp.mtu", "1300")
	if _, err := r.m.Commit(context.Background(), control.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := r.applied[0].File(); got != r.store.RunPath {
		t.Errorf("applied config named %q, want %q", got, r.store.RunPath)
	}
}
