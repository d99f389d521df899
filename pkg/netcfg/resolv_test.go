package netcfg

import (
	"net/netip"
	"testing"
)

func TestResolvConf(t *testing.T) {
	got := string(resolvConf([]netip.Addr{netip.MustParseAddr("198.51.100.53"), netip.MustParseAddr("2001:db8::53")}))
	want := "# written by pptpbox from the WAN configuration\nnameserver 198.51.100.53\nnameserver 2001:db8::53\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
