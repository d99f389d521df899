package netcfg

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestGSOMaxSegs sets a TUN's gso_max_segs and reads it back, here and as
// `ip -d link` shows it; out-of-range values and unknown devices fail.
func TestGSOMaxSegs(t *testing.T) {
	netnstest.Run(t, func() error {
		if _, err := netnstest.Cmd("ip", "tuntap", "add", "tun9", "mode", "tun"); err != nil {
			return err
		}
		before, err := GSOMaxSegs("tun9")
		if err != nil {
			return err
		}
		if before == 100 {
			return fmt.Errorf("the kernel's default is already 100: the test proves nothing")
		}
		if err := SetGSOMaxSegs("tun9", 100); err != nil {
			return err
		}
		if got, err := GSOMaxSegs("tun9"); err != nil || got != 100 {
			return fmt.Errorf("GSOMaxSegs = %d, %v; want 100 (was %d)", got, err, before)
		}
		out, err := netnstest.Cmd("ip", "-d", "link", "show", "tun9")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "gso_max_segs 100 ") {
			return fmt.Errorf("ip -d link: %s", out)
		}
		for _, n := range []int{0, 65536} {
			if err := SetGSOMaxSegs("tun9", n); err == nil {
				return fmt.Errorf("SetGSOMaxSegs(%d) succeeded", n)
			}
		}
		if err := SetGSOMaxSegs("nosuch9", 64); err == nil {
			return fmt.Errorf("SetGSOMaxSegs on a missing device succeeded")
		}
		return nil
	})
}
