package main

import (
	"context"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Trace. (Being written: issue 9, helper "trace".)

func (a boxAPI) Trace(ctx context.Context, f control.TraceFilter, fn func(control.TraceEvent) error) error {
	return control.Errorf(control.CodeUnavailable, "not built yet")
}
