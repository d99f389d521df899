package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// The network bench: boxd in namespace "srv", pptpc in "cli", one veth
// between them. The pool is a /18 (16,000 addresses) for the idle row.
var (
	srvAddr  = netip.MustParsePrefix("192.0.2.1/24")
	cliAddr  = netip.MustParsePrefix("192.0.2.2/24")
	tunLocal = netip.MustParseAddr("10.80.0.1")
	// sinkNet is routed to a blackhole in srv: what boxd writes to its TUN
	// for it is counted (the TUN's rx counters) and dropped by the kernel
	// without an answer, at no cost to anyone's CPU.
	sinkNet  = "198.18.0.0/15"
	sinkAddr = netip.MustParseAddrPort("198.18.0.1:9")
	benchTUN = "pptpb0"
)

const (
	benchUser     = "bench"
	benchPassword = "bench-pw"
)

// boxConfig is boxd's config: a plain PPTP server (no router sections)
// whose limits let one source open 12,000 sessions; radius adds a
// [radius] section (and the local user is then not used).
func boxConfig(radius string) string {
	return fmt.Sprintf(`# make bench: boxd in a namespace, pptpc in another (qemu/bench)
[log]
level = "info"

[pptp]
listen = "%s:1723"
local_ip = "%s"
remote_ip = "10.80.0.10-10.80.63.250"
tun = "%s"
single_session = "off"
max_sessions = 12000
max_connections = 12100
max_connections_per_source = 0
max_unauthenticated_per_source = 0
auth_fail_limit = 0
%s
[[user]]
name = "%s"
password = "%s"
`, srvAddr.Addr(), tunLocal, benchTUN, radius, benchUser, benchPassword)
}

// netBench is a running boxd with its namespaces.
type netBench struct {
	bins     Binaries
	cleanup  []func() // run by Close after boxd stopped, last first
	srv, cli *netns.NS
	boxd     *rig.Boxd
	dir      string
}

// Binaries are the programs the bench runs.
type Binaries struct{ Boxd, PPTPC string }

// startNet creates the namespaces and starts boxd on the config cfg
// returns (cfg may start what boxd needs first, in b.srv). Close undoes it.
func startNet(ctx context.Context, bins Binaries, dir string, cfg func(b *netBench) (string, error)) (_ *netBench, err error) {
	b := &netBench{bins: bins, dir: dir}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.srv, err = netns.New("pptpbox-bsrv"); err != nil {
		return nil, err
	}
	if b.cli, err = netns.New("pptpbox-bcli"); err != nil {
		return nil, err
	}
	if err := b.srv.AddVeth(ctx, "eth0", b.cli, "eth0", cliAddr, netip.Addr{}); err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"addr", "add", srvAddr.String(), "dev", "eth0"}, {"route", "add", "blackhole", sinkNet}} {
		if _, err := b.srv.IP(ctx, args...); err != nil {
			return nil, err
		}
	}
	text, err := cfg(b)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "box.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, err
	}
	if b.boxd, err = rig.StartBoxd(ctx, b.srv, bins.Boxd, path, dir); err != nil {
		return nil, err
	}
	return b, nil
}

// Close stops boxd (by PID) and removes the namespaces.
func (b *netBench) Close() {
	if b.boxd != nil {
		if err := b.boxd.Stop(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	for i := len(b.cleanup) - 1; i >= 0; i-- {
		b.cleanup[i]()
	}
	for _, ns := range []*netns.NS{b.srv, b.cli} { // srv holds the veth pair
		if ns != nil {
			if err := ns.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
		}
	}
}

// proc is a pptpc (or other) process in a namespace, its output watched.
type proc struct {
	cmd  *exec.Cmd
	out  *vmtest.LogWatch
	done chan struct{}
	err  error
}

// start runs name in ns; it is killed (by PID) when ctx ends or the bench dies.
func start(ctx context.Context, ns *netns.NS, name string, args ...string) (*proc, error) {
	p := &proc{cmd: ns.Command(ctx, name, args...), out: vmtest.NewLogWatch(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	vmtest.KillWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// pptpc starts pptpc in cli against boxd as the bench user.
func (b *netBench) pptpc(ctx context.Context, args ...string) (*proc, error) {
	return start(ctx, b.cli, b.bins.PPTPC, append([]string{"-server", srvAddr.Addr().String(), "-user", benchUser, "-password", benchPassword}, args...)...)
}

// wait waits for the line matching re, failing early when p exits.
func (p *proc) wait(ctx context.Context, re string, d time.Duration) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			time.Sleep(100 * time.Millisecond) // its last lines
			cancel()
		case <-wctx.Done():
		}
	}()
	line, err := p.out.WaitFor(wctx, regexp.MustCompile(re), 0)
	if err != nil {
		return "", fmt.Errorf("%s: no /%s/ (exit %v): %w\n%s", filepath.Base(p.cmd.Args[len(p.cmd.Args)-1]), re, p.err, err, tail(p.out.String(), 20))
	}
	return line, nil
}

// stop sends SIGINT and waits up to d for the exit, then kills.
func (p *proc) stop(d time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s ignored SIGINT for %s; killed", p.cmd.Path, d)
	}
}

// exited waits up to d for the process to exit by itself.
func (p *proc) exited(d time.Duration) error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%v\n%s", p.err, tail(p.out.String(), 20))
		}
		return nil
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("no exit within %s; killed\n%s", d, tail(p.out.String(), 20))
	}
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// waitSessions polls boxd's stats until ok holds or d passes.
func (b *netBench) waitSessions(ctx context.Context, d time.Duration, ok func(n int) bool) (int, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := b.boxd.Stats(ctx)
		if err == nil && ok(st.Sessions) {
			return st.Sessions, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return st.Sessions, fmt.Errorf("boxd sessions %d not as wanted within %s (%v)", st.Sessions, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tunRx is what boxd has written to its TUN so far (the device's rx side).
func (b *netBench) tunRx(ctx context.Context) (packets, bytes uint64, err error) {
	out, err := b.srv.IP(ctx, "-j", "-s", "link", "show", "dev", benchTUN)
	if err != nil {
		return 0, 0, err
	}
	return parseLinkRx(out)
}

// parseLinkRx reads the rx counters of `ip -j -s link show` output.
func parseLinkRx(out string) (packets, bytes uint64, err error) {
	var links []struct {
		Stats64 struct {
			RX struct {
				Bytes   uint64 `json:"bytes"`
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		return 0, 0, fmt.Errorf("ip -j -s link: %v: %q", err, out)
	}
	return links[0].Stats64.RX.Packets, links[0].Stats64.RX.Bytes, nil
}

// memory is a process's resident set (VmRSS) and proportional set
// (smaps_rollup Pss), in bytes.
func memory(pid int) (rss, pss int64, err error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	rss = kbField(string(st), "VmRSS:")
	if sm, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		pss = kbField(string(sm), "Pss:")
	}
	return rss, pss, nil
}

// kbField is the "Key:   123 kB" line of a /proc file, in bytes.
func kbField(text, key string) int64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}
