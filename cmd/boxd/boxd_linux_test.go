package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("[[user]]\nname = \"a\"\npassword = \"b\"\n"), 0o644)
	os.WriteFile(bad, []byte("[pptp]\nremote_ip = \"10.0.0.1-300\"\n"), 0o644)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", good}, &out, &out); err != nil {
		t.Fatalf("good config: %v", err)
	}
	err := run(context.Background(), []string{"check", bad}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), bad+":2: pptp.remote_ip:") {
		t.Fatalf("bad config: %v", err)
	}
}

// buildBinaries builds boxd, boxctl and pptpc once for the namespace test.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, cmd := range []string{"boxd", "boxctl", "pptpc"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, cmd), "github.com/pptpbox/pptpbox/cmd/"+cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", cmd, err, out)
		}
	}
	return dir
}

// logTail collects a process's output and lets the test wait for a line.
type logTail struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLogTail(r io.Reader) *logTail {
	l := &logTail{lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.buf.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
			select {
			case l.lines <- sc.Text():
			default:
			}
		}
		close(l.lines)
	}()
	return l
}

func (l *logTail) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

func (l *logTail) waitFor(t *testing.T, what string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("process ended before %q; output:\n%s", what, l.String())
			}
			if strings.Contains(line, what) {
				return line
			}
		case <-deadline:
			t.Fatalf("no %q within %s; output:\n%s", what, d, l.String())
		}
	}
}

// TestBoxdWithGoClient runs boxd in one namespace and pptpc (the Go client,
// real TUN, real raw GRE socket) in another, linked by a wire: the whole
// daemon on a real kernel, without QEMU.
func TestBoxdWithGoClient(t *testing.T) {
	netnstest.Require(t, "ip", "ping")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "srv")
	cli := netnstest.NewNS(t, "cli")
	netnstest.NewWire(t, srv, "eth0", cli, "eth0")
	for ns, addr := range map[*netnstest.NS]string{srv: "192.0.2.1/24", cli: "192.0.2.2/24"} {
		if out, err := ns.Run("ip", "addr", "add", addr, "dev", "eth0"); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if out, err := ns.Run("ip", "link", "set", "eth0", "up"); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pptpbox.toml")
	os.WriteFile(cfg, []byte(`
[log]
level = "debug"
[pptp]
listen = "192.0.2.1:1723"
[[user]]
name = "alice"
password = "alice-pw"
`), 0o644)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := srv.Cmd(filepath.Join(bin, "boxd"), "-config", cfg, "-control", sock)
	boxdOut, _ := boxd.StderrPipe()
	if err := boxd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { boxd.Process.Kill(); boxd.Wait() })
	boxLog := newLogTail(boxdOut)
	boxLog.waitFor(t, "pptp server ready", 20*time.Second)

	pptpc := cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", "alice", "-password", "alice-pw")
	pr, pw := io.Pipe()
	pptpc.Stdout, pptpc.Stderr = pw, pw
	if err := pptpc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pptpc.Process.Kill(); pptpc.Wait() })
	cliLog := newLogTail(pr)
	line := cliLog.waitFor(t, "connected:", 30*time.Second)
	if !strings.Contains(line, "local 10.79.97.10 remote 10.79.97.1 dns 8.8.8.8 8.8.4.4 MPPE 128-bit stateless") {
		t.Fatalf("client: %s", line)
	}
	boxLog.waitFor(t, `msg="session up" user=alice`, 10*time.Second)

	if out, err := cli.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.79.97.1"); err != nil {
		t.Fatalf("client -> box ping: %v\n%s", err, out)
	}
	if out, err := srv.Run("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.79.97.10"); err != nil {
		t.Fatalf("box -> client ping: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "sessions").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "alice") || !strings.Contains(string(out), "10.79.97.10") {
		t.Fatalf("boxctl sessions: %v\n%s", err, out)
	}

	// A clean shutdown: the client is told (LCP Terminate / Call-Disconnect-
	// Notify) and boxd exits 0 with the session logged down.
	boxd.Process.Signal(syscall.SIGTERM)
	cliLog.waitFor(t, "link down", 15*time.Second)
	boxLog.waitFor(t, `msg="session down" user=alice`, 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- boxd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("boxd exit: %v\n%s", err, boxLog.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("boxd did not exit on SIGTERM")
	}
}
