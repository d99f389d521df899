package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// NS is a named network namespace (/run/netns/Name).
type NS struct {
	Name string

	mu      sync.Mutex
	links   []string // devices New's caller added, deleted first by Close
	closed  bool
	nsPath  string
	cleanup []func()
}

// New creates a namespace named "<prefix>-<pid>-<random>" with lo up; the
// PID keeps test processes apart, the random part a process's namespaces.
func New(prefix string) (*NS, error) {
	sweepStale(prefix)
	name := fmt.Sprintf("%s-%d-%04x", prefix, os.Getpid(), rand.Uint32()&0xffff)
	if len(name) > 64 {
		return nil, fmt.Errorf("netns: name %q too long", name)
	}
	if _, err := run(context.Background(), "ip", "netns", "add", name); err != nil {
		return nil, err
	}
	n := &NS{Name: name, nsPath: "/run/netns/" + name}
	if _, err := n.IP(context.Background(), "link", "set", "lo", "up"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// IP runs `ip -n NAME ARGS...` and returns its output.
func (n *NS) IP(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "ip", append([]string{"-n", n.Name}, args...)...)
}

// Command returns a command that runs name inside the namespace through
// `ip netns exec`, which execs it: the process's PID is the program's own,
// so it can be signalled and killed by PID.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name inside the namespace and returns its combined output; the
// error names the command line and carries the output.
func (n *NS) Run(ctx context.Context, name string, args ...string) (string, error) {
	return run(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// AddTap creates a persistent tap device in the namespace (for QEMU's
// -netdev tap,ifname=NAME,script=no), gives it addr when valid, and sets it up.
func (n *NS) AddTap(ctx context.Context, name string, addr netip.Prefix) error {
	if _, err := n.IP(ctx, "tuntap", "add", "dev", name, "mode", "tap"); err != nil {
		return err
	}
	n.track(name)
	return n.up(ctx, name, addr)
}

// AddBridge creates a bridge in the namespace, enslaves the given devices
// (taps made with AddTap), gives it addr when valid and sets it up: several
// guests then share one layer-2 segment with the namespace.
func (n *NS) AddBridge(ctx context.Context, name string, addr netip.Prefix, ports ...string) error {
	if _, err := n.IP(ctx, "link", "add", name, "type", "bridge"); err != nil {
		return err
	}
	n.track(name)
	for _, p := range ports {
		if _, err := n.IP(ctx, "link", "set", p, "master", name); err != nil {
			return err
		}
	}
	return n.up(ctx, name, addr)
}

// AddVeth creates a veth pair: name in this namespace (set up, no
// address) and peerName in peer, with peerAddr and, when gw is valid, a
// default route via gw. It links a namespace standing for a LAN host.
func (n *NS) AddVeth(ctx context.Context, name string, peer *NS, peerName string, peerAddr netip.Prefix, gw netip.Addr) error {
	if _, err := n.IP(ctx, "link", "add", name, "type", "veth", "peer", "name", peerName, "netns", peer.Name); err != nil {
		return err
	}
	n.track(name) // deleting one end deletes the pair
	if err := n.up(ctx, name, netip.Prefix{}); err != nil {
		return err
	}
	if err := peer.up(ctx, peerName, peerAddr); err != nil {
		return err
	}
	if gw.IsValid() {
		if _, err := peer.IP(ctx, "route", "add", "default", "via", gw.String()); err != nil {
			return err
		}
	}
	return nil
}

func (n *NS) up(ctx context.Context, dev string, addr netip.Prefix) error {
	if addr.IsValid() {
		if _, err := n.IP(ctx, "addr", "add", addr.String(), "dev", dev); err != nil {
			return err
		}
	}
	_, err := n.IP(ctx, "link", "set", dev, "up")
	return err
}

func (n *NS) track(dev string) {
	n.mu.Lock()
	n.links = append(n.links, dev)
	n.mu.Unlock()
}

// OnClose registers fn to run at the start of Close, before the devices and
// the namespace go (last registered runs first): processes using the
// namespace's taps are stopped there.
func (n *NS) OnClose(fn func()) {
	n.mu.Lock()
	n.cleanup = append(n.cleanup, fn)
	n.mu.Unlock()
}

// Close runs the OnClose functions, deletes the devices AddTap and
// AddBridge made and then the namespace. It is safe to call twice.
func (n *NS) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	cleanup, links := n.cleanup, n.links
	n.mu.Unlock()
	for i := len(cleanup) - 1; i >= 0; i-- {
		cleanup[i]()
	}
	var errs []error
	ctx := context.Background()
	for i := len(links) - 1; i >= 0; i-- {
		if _, err := n.IP(ctx, "link", "del", links[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := run(ctx, "ip", "netns", "del", n.Name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("netns: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return out.String(), nil
}
