package e2e

import (
	"context"
	"testing"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// bootAll boots the guests of specs at once (each boot is mostly TCG CPU
// time, and there are two cores) and closes them with ns and at t's end.
// It fails t now if any did not boot.
func bootAll(ctx context.Context, t *testing.T, ns *netns.NS, specs []vmtest.Config) []*vmtest.Guest {
	t.Helper()
	guests, err := vmtest.BootAll(ctx, specs)
	if err != nil {
		t.Error(err)
	}
	for _, g := range guests {
		if g != nil {
			ns.OnClose(func() { g.Close() })
			t.Cleanup(func() { g.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return guests
}
