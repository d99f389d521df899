package vmtest

import (
	"context"
	"errors"
)

// BootAll boots one guest per config at once (each boot is mostly TCG CPU
// time, and there are cores enough for two) and waits for all. guests[i]
// is nil where that boot failed; err joins the failures. The caller closes
// the guests that did boot, error or not.
func BootAll(ctx context.Context, cfgs []Config) (guests []*Guest, err error) {
	guests = make([]*Guest, len(cfgs))
	errs := make(chan error, len(cfgs))
	for i, c := range cfgs {
		go func() {
			g, err := Boot(ctx, c)
			guests[i] = g
			errs <- err
		}()
	}
	for range cfgs {
		err = errors.Join(err, <-errs)
	}
	return guests, err
}
