package gre

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ip runs the ip(8) command and fails the test on error.
func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

// listenInNetns opens a raw GRE socket inside the named network namespace.
// The socket keeps its namespace after the thread that made it leaves; the
// locked thread is thrown away (never unlocked) rather than switched back.
func listenInNetns(t *testing.T, ns string, local netip.Addr) Conn {
	t.Helper()
	type result struct {
		c   Conn
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // the thread ends with this goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			res <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		c, err := ListenIPv4(local)
		res <- result{c, err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatalf("listen in %s: %v", ns, r.err)
	}
	return r.c
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
	nsA := fmt.Sprintf("gre-test-a-%d", os.Getpid())
	nsB := fmt.Sprintf("gre-test-b-%d", os.Getpid())
	ip(t, "netns", "add", nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	ip(t, "netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	// The veth pair is created inside nsA, so deleting the namespaces
	// removes it too; nothing is left in the host namespace.
	ip(t, "-n", nsA, "link", "add", "gre0a", "type", "veth", "peer", "name", "gre0b", "netns", nsB)
	ip(t, "-n", nsA, "addr", "add", addrA.String()+"/24", "dev", "gre0a")
	ip(t, "-n", nsB, "addr", "add", addrB.String()+"/24", "dev", "gre0b")
	ip(t, "-n", nsA, "link", "set", "gre0a", "up")
	ip(t, "-n", nsB, "link", "set", "gre0b", "up")

	a := listenInNetns(t, nsA, addrA)
	defer a.Close()
	b := listenInNetns(t, nsB, netip.IPv4Unspecified())
	defer b.Close()

	exchange(t, a, b, addrA, addrB, 1)
	exchange(t, a, b, addrA, addrB, 100) // more than one recvmmsg batch
	exchange(t, b, a, addrB, addrA, 5)
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
