package vmtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
)

// bootClient boots the client guest on a tap in a fresh namespace
// (namespace 192.0.2.1/24, guest 192.0.2.2/24) and registers cleanups that
// kill QEMU and delete the namespace even when the test fails.
func bootClient(t *testing.T) (*netns.NS, *Guest) {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	img, err := BuildImage(ctx, FlavourClient, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New("vmtest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("netns close: %v", err)
		}
	})
	if err := ns.AddTap(ctx, "tap0", netip.MustParsePrefix("192.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	g, err := Boot(ctx, Config{
		Image: img, NS: ns, Tap: "tap0", Name: "client",
		Addr: netip.MustParsePrefix("192.0.2.2/24"),
		Dir:  t.TempDir(),
		Log:  slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.OnClose(func() { g.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("guest console:\n%s", tail(g.Console(), 40))
		}
		g.Close()
	})
	t.Logf("guest booted in %v", g.BootTime().Round(time.Millisecond))
	return ns, g
}

// testWriter sends lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestGuestRig proves the harness: the guest boots with the PPP modules,
// the command channel carries scripts, status and binary-heavy output, the
// tap links guest and namespace, and Debian's pppd and pptp run (against a
// port where nothing listens, so the call fails in the way pppd reports).
func TestGuestRig(t *testing.T) {
	ns, g := bootClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("command channel", func(t *testing.T) {
		tests := []struct {
			script string
			out    string
			status int
		}{
			{"echo hello", "hello\n", 0},
			{"echo out; echo err >&2; exit 3", "out\nerr\n", 3},
			{"printf '@@E 1 0\\n@@B 2\\n'", "@@E 1 0\n@@B 2\n", 0},
			{"cat /etc/pptpbox-guest", "client\n", 0},
		}
		for _, tc := range tests {
			out, st, err := g.Run(ctx, tc.script)
			if err != nil || out != tc.out || st != tc.status {
				t.Errorf("Run(%q) = %q, %d, %v; want %q, %d", tc.script, out, st, err, tc.out, tc.status)
			}
		}
		// 256 KiB of binary output must arrive intact.
		out, err := g.MustRun(ctx, "head -c 262144 /dev/urandom > /tmp/r; sha256sum /tmp/r | cut -d' ' -f1 >&2; cat /tmp/r")
		if err != nil {
			t.Fatal(err)
		}
		sum, err := g.MustRun(ctx, "sha256sum /tmp/r | cut -d' ' -f1")
		if err != nil {
			t.Fatal(err)
		}
		got := out[len(out)-262144:]
		if fmt.Sprintf("%x\n", sha256.Sum256([]byte(got))) != sum {
			t.Errorf("binary output corrupted: sha256 %x, guest says %s", sha256.Sum256([]byte(got)), sum)
		}
		// A hung command is ended in the guest at the caller's deadline and
		// the channel then serves the next command.
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, err = g.Run(short, "sleep 600")
		cancel()
		if err == nil {
			t.Error("Run(sleep 600) with a 2s deadline returned no error")
		}
		start := time.Now()
		if out, err := g.MustRun(ctx, "echo after"); err != nil || out != "after\n" {
			t.Errorf("channel after an expired command: %q, %v", out, err)
		} else if d := time.Since(start); d > 30*time.Second {
			t.Errorf("the channel was blocked for %v after an expired command", d)
		}
		data := []byte("name test\n#\x00\xff binary\n")
		if err := g.WriteFile(ctx, "/etc/ppp/peers/x", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, _ := g.MustRun(ctx, "base64 /etc/ppp/peers/x; stat -c %a /etc/ppp/peers/x"); !strings.HasSuffix(out, "600\n") ||
			!strings.Contains(out, b64(data)) {
			t.Errorf("WriteFile: guest has %q", out)
		}
	})

	t.Run("kernel modules", func(t *testing.T) {
		out, err := g.MustRun(ctx, "cat /proc/modules; ls -l /dev/ppp")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"ppp_generic", "ppp_async", "ppp_mppe", "slhc", "virtio_net"} {
			if !strings.Contains(out, m+" ") {
				t.Errorf("module %s not loaded:\n%s", m, out)
			}
		}
	})

	t.Run("tap link", func(t *testing.T) {
		if out, err := g.MustRun(ctx, "ping -c 2 -W 5 192.0.2.1"); err != nil {
			t.Errorf("guest -> namespace: %v\n%s", err, out)
		}
		if out, err := ns.Run(ctx, "ping", "-c", "2", "-W", "5", "192.0.2.2"); err != nil {
			t.Errorf("namespace -> guest: %v\n%s", err, out)
		}
	})

	t.Run("pppd and pptp start", func(t *testing.T) {
		peers := "pty \"pptp 192.0.2.1 --nolaunchpppd\"\nname test\nremotename PPTP\nrequire-mppe-128\n" +
			"refuse-pap\nrefuse-chap\nrefuse-mschap\nnoauth\nnobsdcomp\nnodeflate\nfile /etc/ppp/options.pptp\nipparam box\n"
		if err := g.WriteFile(ctx, "/etc/ppp/peers/box", []byte(peers), 0o644); err != nil {
			t.Fatal(err)
		}
		// Nothing listens on 192.0.2.1:1723: pptp's connect is refused and
		// pppd gives up on the pty. pppd exits non-zero and says so.
		out, st, err := g.Run(ctx, "timeout 60 pppd call box nodetach logfd 1 maxfail 1 debug; echo pppd-exit=$?")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pppd (status %d):\n%s", st, out)
		// pppd opened the pty and the PPP unit, pptp tried TCP 1723, and pppd
		// ended with EXIT_HANGUP (16) when pptp gave up.
		for _, want := range []string{"Connect: ppp0 <--> /dev/pts/", "Could not open control connection to 192.0.2.1", "pppd-exit=16"} {
			if !strings.Contains(out, want) {
				t.Errorf("pppd with a refused PPTP connection: missing %q", want)
			}
		}
	})

	if os.Getenv("VMTEST_KEEP") != "" {
		t.Logf("console:\n%s", g.Console())
	}
}
