package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// waitSeen waits until what is in the output, whether or not waitFor
// already took its line: for lines whose order against others is not fixed
// (the metrics listener starts beside the PPTP server).
func (l *logTail) waitSeen(t *testing.T, what string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(l.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s; output:\n%s", what, d, l.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proc is a process a test started, with its output collected.
type proc struct {
	cmd  *exec.Cmd
	log  *logTail
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// startProc starts cmd (stdout and stderr merged); t's cleanup kills it.
func startProc(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: newLogTail(pr), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits up to d for the process to exit and returns its status.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s; output:\n%s", p.cmd.Path, d, p.log.String())
		return nil
	}
}

// writeConfig writes a boxd config into a new temporary directory.
func writeConfig(t *testing.T, text string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "pptpbox.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// startBoxd runs boxd in ns on cfg with its control socket at sock ("" for
// none); ready is a log line to wait for ("" not to wait).
func startBoxd(t *testing.T, ns *netnstest.NS, bin, cfg, sock, ready string) *proc {
	t.Helper()
	p := startProc(t, ns.Cmd(filepath.Join(bin, "boxd"), "-config", cfg, "-control", sock))
	if ready != "" {
		p.log.waitFor(t, ready, 20*time.Second)
	}
	return p
}

// linkPair wires a and b with addresses on their eth0 ends.
func linkPair(t *testing.T, a *netnstest.NS, addrA string, b *netnstest.NS, addrB string) {
	t.Helper()
	linkNamed(t, a, "eth0", addrA, b, "eth0", addrB)
}

// linkNamed wires a's ifA and b's ifB, with addresses.
func linkNamed(t *testing.T, a *netnstest.NS, ifA, addrA string, b *netnstest.NS, ifB, addrB string) {
	t.Helper()
	netnstest.NewWire(t, a, ifA, b, ifB)
	for _, end := range []struct {
		ns           *netnstest.NS
		ifname, addr string
	}{{a, ifA, addrA}, {b, ifB, addrB}} {
		for _, args := range [][]string{{"addr", "add", end.addr, "dev", end.ifname}, {"link", "set", end.ifname, "up"}} {
			if out, err := end.ns.Run("ip", args...); err != nil {
				t.Fatalf("ip %v: %v %s", args, err, out)
			}
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
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	cfg, dir := writeConfig(t, `
[log]
level = "debug"
[pptp]
listen = "192.0.2.1:1723"
[[user]]
name = "alice"
password = "alice-pw"
`)
	sock := filepath.Join(dir, "boxd.sock")
	boxd := startBoxd(t, srv, bin, cfg, sock, "pptp server ready")
	boxLog := boxd.log
	cliLog := startProc(t, cli.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", "alice", "-password", "alice-pw")).log
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
	// Both ends' TUNs have offloads, and the kernel's super-packets for
	// them fit one read (gso_max_segs = the read's buffers).
	if !regexp.MustCompile(`msg="tun device open" tun=pptp0 queues=\d+ offloads=true`).MatchString(boxLog.String()) {
		t.Errorf("boxd's TUN without offloads:\n%s", boxLog.String())
	}
	for _, end := range []struct {
		ns  *netnstest.NS
		dev string
	}{{srv, "pptp0"}, {cli, "pptpc0"}} {
		if out, err := end.ns.Run("ip", "-d", "link", "show", end.dev); err != nil || !strings.Contains(out, " gso_max_segs 128 ") {
			t.Errorf("%s: want gso_max_segs 128: %v\n%s", end.dev, err, out)
		}
	}

	out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "sessions").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "alice") || !strings.Contains(string(out), "10.79.97.10") {
		t.Fatalf("boxctl show sessions: %v\n%s", err, out)
	}

	// Nothing but IPv4 enters the TUN: the kernel sends no IPv6 router
	// solicitations or MLD reports into it (IPv6 is off on the device).
	if out, err := exec.Command(filepath.Join(bin, "boxctl"), "-socket", sock, "show", "stats", "--json").CombinedOutput(); err != nil {
		t.Fatalf("boxctl show stats: %v\n%s", err, out)
	} else if m := regexp.MustCompile(`"tun_malformed":\s*(\d+)`).FindStringSubmatch(string(out)); m == nil || m[1] != "0" {
		t.Errorf("tun_malformed %v, want 0:\n%s\n%s", m, out, boxLog.String())
	}

	// A clean shutdown: the client is told (LCP Terminate / Call-Disconnect-
	// Notify) and boxd exits 0 with the session logged down.
	boxd.cmd.Process.Signal(syscall.SIGTERM)
	cliLog.waitFor(t, "link down", 15*time.Second)
	boxLog.waitFor(t, `msg="session down" user=alice`, 10*time.Second)
	if err := boxd.wait(t, 15*time.Second); err != nil {
		t.Fatalf("boxd exit: %v\n%s", err, boxLog.String())
	}
}
