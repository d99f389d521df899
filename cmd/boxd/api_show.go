package main

import (
	"context"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// The show commands and kick. (Being written: issue 9, helper "show".)

var errShowTODO = control.Errorf(control.CodeUnavailable, "not built yet")

func (a boxAPI) Sessions(ctx context.Context) ([]control.Session, error) { return nil, errShowTODO }
func (a boxAPI) Session(ctx context.Context, sel string) (control.SessionDetail, error) {
	return control.SessionDetail{}, errShowTODO
}
func (a boxAPI) Kick(ctx context.Context, sel string) ([]control.Session, error) {
	return nil, errShowTODO
}
func (a boxAPI) Stats(ctx context.Context) (control.StatsReply, error) {
	return control.StatsReply{}, errShowTODO
}
func (a boxAPI) Radius(ctx context.Context) (control.RadiusReply, error) {
	return control.RadiusReply{}, errShowTODO
}
func (a boxAPI) NAT(ctx context.Context) (control.NATReply, error) {
	return control.NATReply{}, errShowTODO
}
func (a boxAPI) Leases(ctx context.Context) ([]control.Lease, error)         { return nil, errShowTODO }
func (a boxAPI) Interfaces(ctx context.Context) ([]control.Interface, error) { return nil, errShowTODO }
func (a boxAPI) Routes(ctx context.Context) ([]control.Route, error)         { return nil, errShowTODO }
func (a boxAPI) System(ctx context.Context) (control.System, error) {
	return control.System{}, errShowTODO
}
func (a boxAPI) Log(ctx context.Context, n int) ([]control.LogLine, error) { return nil, errShowTODO }
func (a boxAPI) FollowLog(ctx context.Context, minLevel string, fn func(control.LogLine) error) error {
	return errShowTODO
}
