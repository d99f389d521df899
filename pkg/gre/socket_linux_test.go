package gre

import (
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"unsafe"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// listenIn opens a raw GRE socket inside namespace ns.
func listenIn(t *testing.T, ns *netnstest.NS, local netip.Addr) Conn {
	t.Helper()
	var c Conn
	if err := ns.Do(func() (err error) { c, err = ListenIPv4(local); return err }); err != nil {
		t.Fatalf("listen in %s: %v", ns.Name, err)
	}
	return c
}

// TestRawSocketNetns sends GRE both ways between two namespaces joined by a
// veth pair, through two ListenIPv4 sockets. It needs root and ip(8).
func TestRawSocketNetns(t *testing.T) {
	// Under CI the test must run, not skip: make test runs as root there.
	skip := t.Skip
	if os.Getenv("CI") == "true" {
		skip = t.Fatal
	}
	if os.Geteuid() != 0 {
		skip("needs root for network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("needs ip(8) (Debian iproute2)")
	}
	nsA, nsB := netnstest.NewNS(t, "gre-a"), netnstest.NewNS(t, "gre-b")
	// The veth pair is created inside nsA, so deleting the namespaces
	// removes it too; nothing is left in the host namespace.
	for _, cmd := range []struct {
		ns   *netnstest.NS
		args []string
	}{
		{nsA, []string{"link", "add", "gre0a", "type", "veth", "peer", "name", "gre0b", "netns", nsB.Name}},
		{nsA, []string{"addr", "add", addrA.String() + "/24", "dev", "gre0a"}},
		{nsB, []string{"addr", "add", addrB.String() + "/24", "dev", "gre0b"}},
		{nsA, []string{"link", "set", "gre0a", "up"}},
		{nsB, []string{"link", "set", "gre0b", "up"}},
	} {
		if out, err := cmd.ns.Run("ip", cmd.args...); err != nil {
			t.Fatalf("ip %v: %v: %s", cmd.args, err, out)
		}
	}

	a := listenIn(t, nsA, addrA)
	defer a.Close()
	b := listenIn(t, nsB, netip.IPv4Unspecified())
	defer b.Close()

	exchange(t, a, b, addrA, addrB, 1)
	exchange(t, a, b, addrA, addrB, 100) // more than one recvmmsg batch
	exchange(t, b, a, addrB, addrA, 5)

	if n, err := a.WriteBatch([]Message{{Buf: make([]byte, 4), N: 5, Addr: addrB}}); n != 0 || err == nil {
		t.Errorf("WriteBatch with N > len(Buf) = %d, %v", n, err)
	}
	if n, err := a.WriteBatch([]Message{{Buf: make([]byte, 4), N: 4, Addr: netip.MustParseAddr("2001:db8::1")}}); n != 0 || err == nil {
		t.Errorf("WriteBatch to IPv6 = %d, %v", n, err)
	}
}

// TestMmsghdrLayout pins struct mmsghdr's size from <sys/socket.h>: the
// kernel walks the array by it, so a wrong size garbles every entry after
// the first.
func TestMmsghdrLayout(t *testing.T) {
	want := uintptr(64) // 56-byte msghdr + 4-byte msg_len + padding
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 32 // 28-byte msghdr + msg_len
	}
	if got := unsafe.Sizeof(mmsghdr{}); got != want {
		t.Fatalf("sizeof(mmsghdr) = %d, want %d", got, want)
	}
}
