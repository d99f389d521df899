package main

import (
	"context"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Probe: ping and traceroute from the box. (Being written: issue 9, helper "metrics".)

func (a boxAPI) Probe(ctx context.Context, r control.ProbeRequest, fn func(control.ProbeLine) error) error {
	return control.Errorf(control.CodeUnavailable, "not built yet")
}
