package main

import (
	"context"

	"github.com/pptpbox/pptpbox/pkg/confstore"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// Config staging, commit and users: boxd's one candidate config
// (pkg/confstore's Manager, b.conf), shared by every console and boxctl
// client; a commit, rollback or reload applies through b.apply.

// Users lists the [[user]] entries of the running config.
func (a boxAPI) Users(ctx context.Context) ([]control.User, error) {
	a.b.mu.Lock()
	defer a.b.mu.Unlock()
	out := make([]control.User, 0, len(a.b.cfg.Users))
	for _, u := range a.b.cfg.Users {
		ip := u.IP
		if ip == "*" {
			ip = ""
		}
		out = append(out, control.User{Name: u.Name, IP: ip})
	}
	return out, nil
}

func (a boxAPI) UserAdd(ctx context.Context, u control.UserSpec) error {
	return a.b.conf.AddUser(confstore.User{Name: u.Name, Password: u.Password, IP: u.IP})
}

func (a boxAPI) UserDelete(ctx context.Context, name string) error {
	return a.b.conf.DeleteUser(name)
}

func (a boxAPI) UserPasswd(ctx context.Context, name, password string) error {
	return a.b.conf.SetUserPassword(name, password)
}

func (a boxAPI) ConfigShow(ctx context.Context, which control.ConfigWhich) (control.ConfigText, error) {
	return a.b.conf.Show(which)
}

func (a boxAPI) ConfigCheck(ctx context.Context) (control.CheckResult, error) {
	return a.b.conf.Check(), nil
}

func (a boxAPI) ConfigDiff(ctx context.Context) (string, error) { return a.b.conf.Diff(), nil }

func (a boxAPI) ConfigSet(ctx context.Context, key, value string) error {
	return a.b.conf.Set(key, value)
}

func (a boxAPI) ConfigLoad(ctx context.Context, text string) (control.CheckResult, error) {
	return a.b.conf.Load(text)
}

func (a boxAPI) ConfigDiscard(ctx context.Context) error {
	a.b.conf.Discard()
	return nil
}

func (a boxAPI) ConfigCommit(ctx context.Context, r control.CommitRequest) (control.CommitResult, error) {
	return a.b.conf.Commit(ctx, r)
}

func (a boxAPI) ConfigConfirm(ctx context.Context) (control.CommitResult, error) {
	return a.b.conf.Confirm()
}

func (a boxAPI) ConfigRollback(ctx context.Context) (control.CommitResult, error) {
	return a.b.conf.Rollback(ctx)
}

// Reload re-reads the -config file; a file that does not validate is
// refused (CodeRefused, its file:line: key: message lines in Details).
func (a boxAPI) Reload(ctx context.Context) (control.ReloadResult, error) { return a.b.reload(ctx) }

// pendingCommit is show system's Pending: a commit confirmed waiting for
// its confirmation (nil: none).
func (b *box) pendingCommit() *control.Pending { return b.conf.Pending() }

// configStore is show system's ConfigStore: where commits are written.
func (b *box) configStore() string { return b.conf.StorePath() }
