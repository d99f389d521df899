package main

import (
	"context"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// boxAPI is boxd's implementation of the control API (control.API): the
// show and kick commands in api_show.go, trace in api_trace.go, config and
// users in api_config.go.
type boxAPI struct{ b *box }

var _ control.API = boxAPI{}

func (a boxAPI) Ping(ctx context.Context) (control.Pong, error) {
	p := control.Pong{Version: version, APIVersion: control.APIVersion, Time: time.Now().UTC()}
	for _, port := range a.b.ports() {
		if s := port.Summary(); s != "" {
			p.Degraded = append(p.Degraded, s)
		}
	}
	return p, nil
}
