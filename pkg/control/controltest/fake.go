// Package controltest is a fake control.API for the tests of what is
// written against it (pkg/console, cmd/boxctl): canned replies, selectors
// that match as boxd's do, streams that follow until cancelled, and a
// record of the calls.
package controltest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Fake answers from its fields. Errs makes a method fail (by method name,
// "Kick"); every call is recorded in Calls as "Method arg...".
type Fake struct {
	SessionList []control.Session
	Details     map[string]control.SessionDetail // by user
	StatsReply  control.StatsReply
	RadiusReply control.RadiusReply
	NATReply    control.NATReply
	LeaseList   []control.Lease
	DialOutList []control.DialOut
	Ifaces      []control.Interface
	RouteList   []control.Route
	SystemReply control.System
	LogLines    []control.LogLine
	Previous    control.PreviousLog
	Events      []control.TraceEvent
	ProbeLines  []control.ProbeLine
	UserList    []control.User
	Running     control.ConfigText
	Cand        control.ConfigText
	Check       control.CheckResult
	Diff        string
	Commit      control.CommitResult
	ReloadReply control.ReloadResult
	Errs        map[string]error

	mu    sync.Mutex
	calls []string
	// Streaming is sent a value when a stream (FollowLog, Trace) has sent
	// its events and waits for its context to end; nil: not sent.
	Streaming chan struct{}
}

var _ control.API = (*Fake)(nil)

// Calls are the calls so far.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *Fake) rec(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := method
	for _, a := range args {
		s += fmt.Sprintf(" %v", a)
	}
	f.calls = append(f.calls, s)
	return f.Errs[method]
}

// match is the sessions sel names: a user, "#id" or id, a tunnel or peer address.
func (f *Fake) match(sel string) []control.Session {
	var out []control.Session
	for _, s := range f.SessionList {
		id := fmt.Sprint(s.CallID)
		if sel == s.User || strings.TrimPrefix(sel, "#") == id || sel == s.IP || sel == s.Peer {
			out = append(out, s)
		}
	}
	return out
}

func (f *Fake) Ping(ctx context.Context) (control.Pong, error) {
	return control.Pong{Version: f.SystemReply.Version, APIVersion: control.APIVersion}, f.rec("Ping")
}

func (f *Fake) Sessions(ctx context.Context) ([]control.Session, error) {
	return f.SessionList, f.rec("Sessions")
}

func (f *Fake) Session(ctx context.Context, sel string) (control.SessionDetail, error) {
	if err := f.rec("Session", sel); err != nil {
		return control.SessionDetail{}, err
	}
	m := f.match(sel)
	if len(m) == 0 {
		return control.SessionDetail{}, control.Errorf(control.CodeNotFound, "no session %q", sel)
	}
	if d, ok := f.Details[m[0].User]; ok {
		return d, nil
	}
	return control.SessionDetail{Session: m[0]}, nil
}

func (f *Fake) Kick(ctx context.Context, sel string) ([]control.Session, error) {
	if err := f.rec("Kick", sel); err != nil {
		return nil, err
	}
	m := f.match(sel)
	if len(m) == 0 {
		return nil, control.Errorf(control.CodeNotFound, "no session %q", sel)
	}
	return m, nil
}

func (f *Fake) Stats(ctx context.Context) (control.StatsReply, error) {
	return f.StatsReply, f.rec("Stats")
}

func (f *Fake) Radius(ctx context.Context) (control.RadiusReply, error) {
	return f.RadiusReply, f.rec("Radius")
}

func (f *Fake) NAT(ctx context.Context) (control.NATReply, error) { return f.NATReply, f.rec("NAT") }

func (f *Fake) Leases(ctx context.Context) ([]control.Lease, error) {
	return f.LeaseList, f.rec("Leases")
}

func (f *Fake) DialOuts(ctx context.Context) ([]control.DialOut, error) {
	return f.DialOutList, f.rec("DialOuts")
}

func (f *Fake) Interfaces(ctx context.Context) ([]control.Interface, error) {
	return f.Ifaces, f.rec("Interfaces")
}

func (f *Fake) Routes(ctx context.Context) ([]control.Route, error) {
	return f.RouteList, f.rec("Routes")
}

func (f *Fake) System(ctx context.Context) (control.System, error) {
	return f.SystemReply, f.rec("System")
}

func (f *Fake) LogPrevious(ctx context.Context) (control.PreviousLog, error) {
	return f.Previous, f.rec("LogPrevious")
}

func (f *Fake) Log(ctx context.Context, n int) ([]control.LogLine, error) {
	if err := f.rec("Log", n); err != nil {
		return nil, err
	}
	if n > 0 && n < len(f.LogLines) {
		return f.LogLines[len(f.LogLines)-n:], nil
	}
	return f.LogLines, nil
}

// follow sends events, then waits for ctx to end, as a follow does.
func follow[E any](ctx context.Context, f *Fake, events []E, fn func(E) error) error {
	for _, e := range events {
		if err := fn(e); err != nil {
			return err
		}
	}
	if f.Streaming != nil {
		f.Streaming <- struct{}{}
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *Fake) FollowLog(ctx context.Context, minLevel string, fn func(control.LogLine) error) error {
	if err := f.rec("FollowLog", minLevel); err != nil {
		return err
	}
	return follow(ctx, f, f.LogLines, fn)
}

func (f *Fake) Trace(ctx context.Context, tf control.TraceFilter, fn func(control.TraceEvent) error) error {
	if err := f.rec("Trace", tf.User, tf.Peer); err != nil {
		return err
	}
	return follow(ctx, f, f.Events, fn)
}

func (f *Fake) Probe(ctx context.Context, r control.ProbeRequest, fn func(control.ProbeLine) error) error {
	if err := f.rec("Probe", r.Kind, r.Target, r.Count); err != nil {
		return err
	}
	for _, l := range f.ProbeLines {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fake) Users(ctx context.Context) ([]control.User, error) { return f.UserList, f.rec("Users") }

func (f *Fake) UserAdd(ctx context.Context, u control.UserSpec) error {
	return f.rec("UserAdd", u.Name, u.Password, u.IP)
}

func (f *Fake) UserDelete(ctx context.Context, name string) error {
	if err := f.rec("UserDelete", name); err != nil {
		return err
	}
	for _, u := range f.UserList {
		if u.Name == name {
			return nil
		}
	}
	return control.Errorf(control.CodeNotFound, "no user %q", name)
}

func (f *Fake) UserPasswd(ctx context.Context, name, password string) error {
	return f.rec("UserPasswd", name, password)
}

func (f *Fake) ConfigShow(ctx context.Context, which control.ConfigWhich) (control.ConfigText, error) {
	if which == control.Candidate {
		return f.Cand, f.rec("ConfigShow", which)
	}
	return f.Running, f.rec("ConfigShow", which)
}

func (f *Fake) ConfigCheck(ctx context.Context) (control.CheckResult, error) {
	return f.Check, f.rec("ConfigCheck")
}

func (f *Fake) ConfigDiff(ctx context.Context) (string, error) { return f.Diff, f.rec("ConfigDiff") }

func (f *Fake) ConfigSet(ctx context.Context, key, value string) error {
	return f.rec("ConfigSet", key, value)
}

func (f *Fake) ConfigLoad(ctx context.Context, text string) (control.CheckResult, error) {
	return f.Check, f.rec("ConfigLoad", fmt.Sprintf("%q", text))
}

func (f *Fake) ConfigDiscard(ctx context.Context) error { return f.rec("ConfigDiscard") }

func (f *Fake) ConfigCommit(ctx context.Context, r control.CommitRequest) (control.CommitResult, error) {
	return f.Commit, f.rec("ConfigCommit", r.ConfirmWithin)
}

func (f *Fake) ConfigConfirm(ctx context.Context) (control.CommitResult, error) {
	return f.Commit, f.rec("ConfigConfirm")
}

func (f *Fake) ConfigRollback(ctx context.Context) (control.CommitResult, error) {
	return f.Commit, f.rec("ConfigRollback")
}

func (f *Fake) Reload(ctx context.Context) (control.ReloadResult, error) {
	return f.ReloadReply, f.rec("Reload")
}
