package main

import (
	"context"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Config staging, commit and users. (Being written: issue 9, helper "config".)

var errConfigTODO = control.Errorf(control.CodeUnavailable, "not built yet")

func (a boxAPI) Users(ctx context.Context) ([]control.User, error)           { return nil, errConfigTODO }
func (a boxAPI) UserAdd(ctx context.Context, u control.UserSpec) error       { return errConfigTODO }
func (a boxAPI) UserDelete(ctx context.Context, name string) error           { return errConfigTODO }
func (a boxAPI) UserPasswd(ctx context.Context, name, password string) error { return errConfigTODO }
func (a boxAPI) ConfigShow(ctx context.Context, which control.ConfigWhich) (control.ConfigText, error) {
	return control.ConfigText{}, errConfigTODO
}
func (a boxAPI) ConfigCheck(ctx context.Context) (control.CheckResult, error) {
	return control.CheckResult{}, errConfigTODO
}
func (a boxAPI) ConfigDiff(ctx context.Context) (string, error)         { return "", errConfigTODO }
func (a boxAPI) ConfigSet(ctx context.Context, key, value string) error { return errConfigTODO }
func (a boxAPI) ConfigLoad(ctx context.Context, text string) (control.CheckResult, error) {
	return control.CheckResult{}, errConfigTODO
}
func (a boxAPI) ConfigDiscard(ctx context.Context) error { return errConfigTODO }
func (a boxAPI) ConfigCommit(ctx context.Context, r control.CommitRequest) (control.CommitResult, error) {
	return control.CommitResult{}, errConfigTODO
}
func (a boxAPI) ConfigConfirm(ctx context.Context) (control.CommitResult, error) {
	return control.CommitResult{}, errConfigTODO
}
func (a boxAPI) ConfigRollback(ctx context.Context) (control.CommitResult, error) {
	return control.CommitResult{}, errConfigTODO
}
func (a boxAPI) Reload(ctx context.Context) (control.ReloadResult, error) {
	return control.ReloadResult{}, errConfigTODO
}
