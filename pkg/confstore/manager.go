package confstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// Clock is time for the confirm timer; tests pass a fake one.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// ApplyFunc applies a validated config to the running box and says what it
// did: Applied (changed live), Restart (changed, waiting for a restart) and
// Ended (sessions the change ended). An error means nothing was applied.
type ApplyFunc func(ctx context.Context, c *config.Config) (control.CommitResult, error)

// Options are a Manager's parts.
type Options struct {
	Store Store
	Clock Clock // nil: RealClock
	Apply ApplyFunc
	// OnBox, if set, checks what validation cannot check off the box (the
	// interfaces a config names exist); a commit it fails is refused.
	OnBox func(*config.Config) error
	Log   *slog.Logger
}

// Manager is boxd's one candidate config, shared by every console and
// boxctl client (as Junos' shared configure), and the commits of it: it
// stages edits, validates, writes the store with its rollback point, runs
// the commit confirmed timer and applies each change through ApplyFunc.
// Its methods are safe for concurrent use and return *control.Error.
type Manager struct {
	o Options

	mu      sync.Mutex
	running string  // the text boxd runs with
	cand    *string // the staged text; nil: no change staged
	pending *pending
	gen     int // counts commits confirmed, so a stale timer does nothing
}

type pending struct {
	revertAt time.Time
	stop     func() bool
	gen      int
}

// New returns a Manager whose running config is running (the text of the
// file boxd started with).
func New(o Options, running string) *Manager {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Manager{o: o, running: running}
}

// candidateName names the candidate in check errors.
const candidateName = "candidate"

func refused(format string, args ...any) *control.Error {
	return control.Errorf(control.CodeRefused, format, args...)
}

// editErr maps an edit's error onto the API's codes.
func editErr(what string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return control.Errorf(control.CodeNotFound, "%s: %v", what, err)
	default:
		return refused("%s refused: %v", what, err)
	}
}

func (m *Manager) candidate() string {
	if m.cand != nil {
		return *m.cand
	}
	return m.running
}

// edit applies f to the candidate and keeps the result only if it brings
// no new validation error (a candidate loaded with errors can be fixed
// one key at a time; an edit never adds one).
func (m *Manager) edit(what string, f func(string) (string, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.candidate()
	text, err := f(old)
	if err != nil {
		return editErr(what, err)
	}
	if errs := newErrors(checkErrs(candidateName, old), checkErrs(candidateName, text)); len(errs) > 0 {
		e := refused("%s refused: the candidate would not validate (it is unchanged)", what)
		e.Details = errs
		return e
	}
	m.cand = &text
	return nil
}

// Set stages key = value (see Set).
func (m *Manager) Set(key, value string) error {
	return m.edit("set "+key, func(t string) (string, error) { return Set(t, key, value) })
}

// AddUser stages a new [[user]].
func (m *Manager) AddUser(u User) error {
	return m.edit("users add "+u.Name, func(t string) (string, error) { return AddUser(t, u) })
}

// DeleteUser stages the removal of a [[user]].
func (m *Manager) DeleteUser(name string) error {
	return m.edit("users delete "+name, func(t string) (string, error) { return DeleteUser(t, name) })
}

// SetUserPassword stages a new password for a [[user]].
func (m *Manager) SetUserPassword(name, password string) error {
	return m.edit("users passwd "+name, func(t string) (string, error) { return SetUserPassword(t, name, password) })
}

// Load replaces the candidate with text and checks it; a text with errors
// is kept (to be fixed, or discarded) but cannot be committed.
func (m *Manager) Load(text string) (control.CheckResult, error) {
	if len(text) > MaxSize {
		return control.CheckResult{}, refused("config load refused: larger than %d bytes", MaxSize)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cand = &text
	return checkResult(text), nil
}

func checkResult(text string) control.CheckResult {
	_, errs := Check(candidateName, text)
	return control.CheckResult{OK: len(errs) == 0, Errors: errs}
}

// Discard drops the staged changes.
func (m *Manager) Discard() {
	m.mu.Lock()
	m.cand = nil
	m.mu.Unlock()
}

// Check validates the candidate.
func (m *Manager) Check() control.CheckResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	return checkResult(m.candidate())
}

// Show returns the running or the candidate text.
func (m *Manager) Show(which control.ConfigWhich) (control.ConfigText, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch which {
	case control.Running, "":
		return control.ConfigText{Which: control.Running, Path: m.runPath(), Text: m.running}, nil
	case control.Candidate:
		return control.ConfigText{Which: control.Candidate, Path: candidateName, Text: m.candidate()}, nil
	}
	return control.ConfigText{}, control.Errorf(control.CodeBadRequest, "config show: want running or candidate, not %q", which)
}

func (m *Manager) runPath() string {
	if m.o.Store.RunPath != "" {
		return m.o.Store.RunPath
	}
	return m.o.Store.Path
}

// Diff is running -> candidate as a unified diff ("" when none).
func (m *Manager) Diff() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Diff("running", candidateName, m.running, m.candidate())
}

// Running is the text boxd runs with.
func (m *Manager) Running() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running
}

// Pending is the commit confirmed waiting for ConfigConfirm (nil: none).
func (m *Manager) Pending() *control.Pending {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		return nil
	}
	return &control.Pending{RevertAt: m.pending.revertAt}
}

// StorePath is where commits are written.
func (m *Manager) StorePath() string { return m.o.Store.Path }

// Commit validates the candidate, writes it to the store (the running
// text becomes the rollback point), applies it, and with ConfirmWithin > 0
// arms the revert. A commit while a commit confirmed waits keeps the
// first one's rollback point; a plain commit then also confirms.
func (m *Manager) Commit(ctx context.Context, r control.CommitRequest) (control.CommitResult, error) {
	if r.ConfirmWithin < 0 {
		return control.CommitResult{}, control.Errorf(control.CodeBadRequest, "commit confirmed: negative time")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	text := m.candidate()
	if _, errs := Check(candidateName, text); len(errs) > 0 {
		e := refused("commit refused: the candidate does not validate")
		e.Details = errs
		return control.CommitResult{}, e
	}
	c, _ := Check(m.runPath(), text) // valid: named as the file boxd will run
	if m.o.OnBox != nil {
		if err := m.o.OnBox(c); err != nil {
			e := refused("commit refused: %v", err)
			e.Details = []string{err.Error()}
			return control.CommitResult{}, e
		}
	}
	if text == m.running {
		m.cand = nil
		res := control.CommitResult{Path: m.o.Store.Path}
		switch {
		case m.pending != nil && r.ConfirmWithin == 0:
			return m.confirmLocked()
		case m.pending != nil:
			// commit confirmed again with nothing new: a new deadline.
			res.RevertAt = m.o.Clock.Now().Add(r.ConfirmWithin)
			if err := m.o.Store.writeMarker(marker{RevertAt: res.RevertAt, Comment: r.Comment}); err != nil {
				return control.CommitResult{}, control.Errorf(control.CodeInternal, "commit: pending marker: %v", err)
			}
			m.arm(res.RevertAt)
		}
		return res, nil
	}
	if m.pending == nil {
		if err := m.o.Store.writePrev(m.running); err != nil {
			return control.CommitResult{}, control.Errorf(control.CodeInternal, "commit: rollback point: %v", err)
		}
	}
	var revertAt time.Time
	if r.ConfirmWithin > 0 {
		revertAt = m.o.Clock.Now().Add(r.ConfirmWithin)
		// The marker goes first: a power cut after it and before the store
		// is written reverts to what runs anyway.
		if err := m.o.Store.writeMarker(marker{RevertAt: revertAt, Comment: r.Comment}); err != nil {
			return control.CommitResult{}, control.Errorf(control.CodeInternal, "commit: pending marker: %v", err)
		}
	}
	res, err := m.install(ctx, text, c)
	if err != nil {
		if r.ConfirmWithin > 0 && m.pending == nil {
			m.o.Store.removeMarker()
		}
		return control.CommitResult{}, err
	}
	m.cand = nil
	if r.ConfirmWithin > 0 {
		m.arm(revertAt)
		res.RevertAt = revertAt
	} else if m.pending != nil {
		if err := m.clearPending(); err != nil {
			return res, control.Errorf(control.CodeInternal, "commit: %v", err)
		}
		res.Confirmed = true
	}
	m.o.Log.Info("config committed", "store", m.o.Store.Path, "comment", r.Comment, "applied", res.Applied, "restart", res.Restart,
		"ended", len(res.Ended), "revert_at", revertAt)
	return res, nil
}

// install writes text (validated as c) to the store and the run file and
// applies it; when the apply fails, the files get the running text back.
func (m *Manager) install(ctx context.Context, text string, c *config.Config) (control.CommitResult, error) {
	if err := m.o.Store.write(text); err != nil {
		m.o.Store.write(m.running)
		return control.CommitResult{}, control.Errorf(control.CodeInternal, "write %s: %v", m.o.Store.Path, err)
	}
	res, err := m.o.Apply(ctx, c)
	if err != nil {
		if werr := m.o.Store.write(m.running); werr != nil {
			m.o.Log.Error("config: cannot put the running config back in the store", "err", werr)
		}
		return control.CommitResult{}, refused("not applied (the store keeps the running config): %v", err)
	}
	m.running = text
	res.Path, res.Changed = m.o.Store.Path, true
	return res, nil
}

// arm starts (or moves) the revert timer.
func (m *Manager) arm(at time.Time) {
	if m.pending != nil {
		m.pending.stop()
	}
	m.gen++
	gen := m.gen
	p := &pending{revertAt: at, gen: gen}
	p.stop = m.o.Clock.AfterFunc(at.Sub(m.o.Clock.Now()), func() { m.expire(gen) })
	m.pending = p
}

func (m *Manager) clearPending() error {
	if m.pending != nil {
		m.pending.stop()
		m.pending = nil
	}
	return m.o.Store.removeMarker()
}

// Confirm keeps a commit confirmed.
func (m *Manager) Confirm() (control.CommitResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.confirmLocked()
}

func (m *Manager) confirmLocked() (control.CommitResult, error) {
	if m.pending == nil {
		return control.CommitResult{}, control.Errorf(control.CodeNotFound, "no commit confirmed is waiting")
	}
	if err := m.clearPending(); err != nil {
		return control.CommitResult{}, control.Errorf(control.CodeInternal, "confirm: %v", err)
	}
	m.o.Log.Info("commit confirmed", "store", m.o.Store.Path)
	return control.CommitResult{Path: m.o.Store.Path, Confirmed: true}, nil
}

// expire is the revert timer: the commit was not confirmed in time.
func (m *Manager) expire(gen int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil || m.pending.gen != gen {
		return // confirmed, rolled back or re-armed meanwhile
	}
	res, err := m.rollbackLocked(context.Background(), false)
	if err != nil {
		m.o.Log.Error("commit confirmed not confirmed in time: revert failed", "err", err)
		return
	}
	m.o.Log.Warn("commit confirmed not confirmed in time: reverted to the rollback point", "store", m.o.Store.Path,
		"applied", res.Applied, "restart", res.Restart, "ended", len(res.Ended))
}

// Rollback applies and writes the rollback point; what ran becomes the
// rollback point in turn (a second rollback undoes the first). It also
// ends a commit confirmed that waits.
func (m *Manager) Rollback(ctx context.Context) (control.CommitResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rollbackLocked(ctx, true)
}

func (m *Manager) rollbackLocked(ctx context.Context, swap bool) (control.CommitResult, error) {
	prev, err := m.o.Store.readPrev()
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return control.CommitResult{}, control.Errorf(control.CodeNotFound, "rollback: %v", err)
		}
		return control.CommitResult{}, control.Errorf(control.CodeInternal, "rollback: %v", err)
	}
	if _, errs := Check(m.o.Store.PrevPath(), prev); len(errs) > 0 {
		e := refused("rollback refused: the rollback point does not validate")
		e.Details = errs
		return control.CommitResult{}, e
	}
	c, _ := Check(m.runPath(), prev)
	old := m.running
	res, err := m.install(ctx, prev, c)
	if err != nil {
		return control.CommitResult{}, err
	}
	if swap {
		if err := m.o.Store.writePrev(old); err != nil {
			m.o.Log.Error("rollback: cannot keep the replaced config as the rollback point", "err", err)
		}
	}
	if err := m.clearPending(); err != nil {
		m.o.Log.Error("rollback: pending marker", "err", err)
	}
	m.o.Log.Info("config rolled back", "store", m.o.Store.Path, "applied", res.Applied, "restart", res.Restart)
	return res, nil
}

// Reload re-reads the run file (SIGHUP, boxctl reload): a file that does
// not validate is refused with its errors and nothing changes.
func (m *Manager) Reload(ctx context.Context) (control.ReloadResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	path := m.runPath()
	b, err := readLimited(path)
	if err != nil {
		e := refused("reload refused: keeping the running config")
		e.Details = []string{(&config.Error{File: path, Msg: err.Error()}).Error()}
		if errors.Is(err, os.ErrNotExist) {
			e.Details = []string{fmt.Sprintf("%s: no such file", path)}
		}
		return control.ReloadResult{}, e
	}
	text := string(b)
	c, errs := Check(path, text)
	if len(errs) > 0 {
		e := refused("reload refused: keeping the running config")
		e.Details = errs
		return control.ReloadResult{}, e
	}
	res, err := m.o.Apply(ctx, c)
	if err != nil {
		return control.ReloadResult{}, refused("reload refused: keeping the running config: %v", err)
	}
	m.running = text
	return control.ReloadResult{Config: path, Applied: res.Applied, Restart: res.Restart}, nil
}
