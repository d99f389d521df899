// Package firmware boots pptpbox firmware images in QEMU and checks what the console says.
//
// The tests run when PPTPBOX_FIRMWARE=1 (make test-firmware sets it after building the
// images); then a missing QEMU, firmware file or image is a failure, not a skip. Every VM has
// a timeout and is killed by PID when its test ends.
package firmware

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// readyRE is the init's ready line.
var readyRE = regexp.MustCompile(`pptpbox ready version=(\S+) wan=(\S+) lan=(\S+) board=(\S+) config=(\S+) uptime=([0-9.]+)s`)

func gate(t *testing.T) {
	t.Helper()
	if os.Getenv("PPTPBOX_FIRMWARE") != "1" {
		t.Skip("firmware boot tests run with PPTPBOX_FIRMWARE=1 (make test-firmware)")
	}
}

// outDir is where make image put the images.
func outDir() string {
	if d := os.Getenv("PPTPBOX_OUT"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "out")
}

func need(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if strings.Contains(p, "/") {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("prerequisite missing: %v (run make deps and make image)", err)
			}
		} else if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("prerequisite missing: %s (run make deps)", p)
		}
	}
}

// imageFor returns a path to the board's image (the stable symlink make image writes).
func imageFor(t *testing.T, board string) string {
	t.Helper()
	p := filepath.Join(outDir(), "pptpbox-"+board+".img")
	need(t, p)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return real
}

// console collects a VM's serial output and lets a test wait for lines, and for a prompt
// (text after the last newline, such as the CLI's "pptpbox> ").
type console struct {
	mu      sync.Mutex
	cond    *sync.Cond
	lines   []string
	partial string      // what came after the last newline
	at      []time.Time // when each line arrived (host clock)
	done    bool
	log     io.Writer
}

func newConsole(r io.Reader, log io.Writer) *console {
	c := &console{log: log}
	c.cond = sync.NewCond(&c.mu)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			c.mu.Lock()
			c.add(buf[:n])
			if err != nil {
				if c.partial != "" {
					c.addLine(c.partial)
					c.partial = ""
				}
				c.done = true
			}
			c.cond.Broadcast()
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c
}

// maxLine bounds a line without a newline (a runaway guest): longer ones are split.
const maxLine = 1 << 20

// add appends output to the lines; c.mu is held.
func (c *console) add(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial += string(p)
			if len(c.partial) >= maxLine {
				c.addLine(c.partial)
				c.partial = ""
			}
			return
		}
		c.addLine(c.partial + string(p[:i]))
		c.partial = ""
		p = p[i+1:]
	}
}

func (c *console) addLine(line string) {
	line = strings.TrimRight(line, "\r")
	c.lines = append(c.lines, line)
	c.at = append(c.at, time.Now())
	if c.log != nil {
		fmt.Fprintln(c.log, line)
	}
}

// waitPrompt waits until the output's last, unterminated line ends with prompt after at
// least line index from: the guest waits for input. It returns the number of lines.
func (c *console) waitPrompt(prompt string, from int, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if len(c.lines) >= from && strings.HasSuffix(c.partial, prompt) {
			return len(c.lines), nil
		}
		if c.done {
			return len(c.lines), fmt.Errorf("VM exited before the prompt %q", prompt)
		}
		if time.Now().After(deadline) {
			return len(c.lines), fmt.Errorf("no prompt %q after %s (last line %q)", prompt, timeout, c.partial)
		}
		c.cond.Wait()
	}
}

// waitFor waits for a line matching re at or after line index from; it returns the
// submatches and the index after the matching line.
func (c *console) waitFor(re *regexp.Regexp, from int, timeout time.Duration) ([]string, int, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := from; ; {
		for ; i < len(c.lines); i++ {
			if m := re.FindStringSubmatch(c.lines[i]); m != nil {
				return m, i + 1, nil
			}
		}
		if c.done {
			return nil, i, fmt.Errorf("VM exited before %q", re)
		}
		if time.Now().After(deadline) {
			return nil, i, fmt.Errorf("no %q after %s", re, timeout)
		}
		c.cond.Wait()
	}
}

// count counts the lines from index from up to to that match re.
func (v *vm) count(re *regexp.Regexp, from, to int) int {
	v.con.mu.Lock()
	defer v.con.mu.Unlock()
	n := 0
	for _, l := range v.con.lines[from:min(to, len(v.con.lines))] {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// arrived is when line i arrived on the host.
func (c *console) arrived(i int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at[i]
}

func (c *console) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines[max(0, len(c.lines)-n):], "\n")
}

type vm struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	con   *console
	start time.Time
}

// startVM runs QEMU with the serial console on stdio; it is killed (by PID) when the test
// ends or after limit.
func startVM(t *testing.T, limit time.Duration, qemu string, args ...string) *vm {
	t.Helper()
	return startVMWith(t, limit, exec.Command, qemu, args...)
}

// startVMWith is startVM with the command built by command: a namespace's Command runs
// QEMU where its tap devices are.
func startVMWith(t *testing.T, limit time.Duration, command func(string, ...string) *exec.Cmd, qemu string, args ...string) *vm {
	t.Helper()
	need(t, qemu)
	args = append([]string{"-display", "none", "-no-user-config", "-serial", "stdio", "-monitor", "none"}, args...)
	cmd := command(qemu, args...)
	dieWithTest(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	logf, err := os.Create(filepath.Join(t.TempDir(), "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	v := &vm{t: t, cmd: cmd, in: in, start: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", qemu, err)
	}
	var log io.Writer = logf
	if os.Getenv("PPTPBOX_CONSOLE") == "1" {
		log = io.MultiWriter(logf, os.Stderr) // watch the guest while the test runs
	}
	v.con = newConsole(out, log)
	killer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	t.Cleanup(func() {
		killer.Stop()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("console tail:\n%s", v.con.tail(60))
		}
	})
	return v
}

func (v *vm) send(line string) {
	v.t.Helper()
	if _, err := io.WriteString(v.in, line+"\n"); err != nil {
		v.t.Fatalf("console write: %v", err)
	}
}

// confirm types a command that asks first (reboot, poweroff) and answers yes: the answer
// is typed ahead, and the console's line editor keeps it for the question.
func (v *vm) confirm(cmd string) {
	v.t.Helper()
	v.send(cmd)
	v.send("y")
}

// waitPrompt waits for the prompt at the end of the output, after line index from.
func (v *vm) waitPrompt(prompt string, from int, timeout time.Duration) int {
	v.t.Helper()
	next, err := v.con.waitPrompt(prompt, from, timeout)
	if err != nil {
		v.t.Fatalf("%v (after %s)", err, time.Since(v.start).Round(time.Second))
	}
	return next
}

func (v *vm) waitFor(re *regexp.Regexp, from int, timeout time.Duration) ([]string, int) {
	v.t.Helper()
	m, next, err := v.con.waitFor(re, from, timeout)
	if err != nil {
		v.t.Fatalf("%v (after %s)", err, time.Since(v.start).Round(time.Second))
	}
	return m, next
}

// netArgs gives the guest a WAN (QEMU user networking, with its DHCP server) and a LAN on
// the next PCI slot; the board profiles make the first virtio NIC the WAN. Both are
// restricted: the guest reaches nothing beyond QEMU's DHCP server (the default config's
// SNTP client must not reach the internet's time servers from a test).
func netArgs(pci string) []string {
	return []string{
		"-netdev", "user,id=wan,restrict=on", "-device", "virtio-net-" + pci + ",netdev=wan",
		"-netdev", "user,id=lan,restrict=on", "-device", "virtio-net-" + pci + ",netdev=lan",
	}
}

// copyImage copies an image so that a test may write to it.
func copyImage(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	out, err := exec.Command("cp", "--sparse=always", src, dst).CombinedOutput()
	if err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	return dst
}
