package rig

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// TransferResult is one verified TCP transfer through the tunnel.
type TransferResult struct {
	Bytes    int64
	SHA256   string // as both ends computed it
	Duration time.Duration
}

// Rate is the transfer's throughput in MB/s.
func (t TransferResult) Rate() float64 {
	return float64(t.Bytes) / 1e6 / t.Duration.Seconds()
}

// listenIn opens a TCP listener inside ns.
func listenIn(ns *netns.NS, addr netip.AddrPort) (net.Listener, error) {
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp4", addr.String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rig: listen %s in %s: %w", addr, ns.Name, err)
	}
	return ln, nil
}

// serveOne runs fn on the first connection ln accepts, in a goroutine,
// with ctx's deadline on the connection; fn's error arrives on the channel.
func serveOne(ctx context.Context, ln net.Listener, fn func(net.Conn) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		done <- fn(c)
	}()
	return done
}

// wait returns serveOne's result, or ctx's error.
func wait(ctx context.Context, done <-chan error) error {
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Upload sends size random bytes from the guest to a sink listening at at
// inside ns (LocalIP in the box's namespace, or a LAN host, so the data
// crosses the tunnel) with busybox nc. The sink hashes what it reads and
// answers with the hex digest; the guest compares it with its own
// sha256sum of the file.
func Upload(ctx context.Context, ns *netns.NS, at netip.AddrPort, g *vmtest.Guest, size int64) (*TransferResult, error) {
	ln, err := listenIn(ns, at)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	var sum string
	var got int64
	done := serveOne(ctx, ln, func(c net.Conn) (err error) {
		h := sha256.New()
		got, err = io.CopyN(h, c, size)
		if err != nil {
			return err
		}
		sum = hex.EncodeToString(h.Sum(nil))
		_, err = io.WriteString(c, sum+"\n")
		return err
	})
	if _, err := g.MustRun(ctx, fmt.Sprintf("head -c %d /dev/urandom > /tmp/up.bin && sha256sum /tmp/up.bin | cut -d' ' -f1 > /tmp/up.sum", size)); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := g.MustRun(ctx, fmt.Sprintf("timeout %d nc %s %d < /tmp/up.bin", guestTimeout(ctx), at.Addr(), at.Port()))
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("rig: upload: %w", err)
	}
	if err := wait(ctx, done); err != nil {
		return nil, fmt.Errorf("rig: upload sink after %d of %d bytes: %w", got, size, err)
	}
	guestSum, err := g.MustRun(ctx, "cat /tmp/up.sum; rm -f /tmp/up.bin /tmp/up.sum")
	if err != nil {
		return nil, err
	}
	if answer := strings.TrimSpace(out); answer != sum {
		return nil, fmt.Errorf("rig: upload: guest got the answer %q, sink hashed %s", answer, sum)
	}
	if strings.TrimSpace(guestSum) != sum {
		return nil, fmt.Errorf("rig: upload: guest sha256 %s, namespace sha256 %s", strings.TrimSpace(guestSum), sum)
	}
	return &TransferResult{Bytes: size, SHA256: sum, Duration: elapsed}, nil
}

// Download sends size pseudo-random bytes from a source listening at at
// inside ns to the guest, which pipes busybox nc into sha256sum; the
// digests of both ends must match.
func Download(ctx context.Context, ns *netns.NS, at netip.AddrPort, g *vmtest.Guest, size int64) (*TransferResult, error) {
	ln, err := listenIn(ns, at)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	var sum string
	done := serveOne(ctx, ln, func(c net.Conn) error {
		h := sha256.New()
		_, err := io.Copy(io.MultiWriter(c, h), io.LimitReader(rand.NewChaCha8(seed()), size))
		sum = hex.EncodeToString(h.Sum(nil))
		return err
	})
	start := time.Now()
	out, err := g.MustRun(ctx, fmt.Sprintf("set -o pipefail; timeout %d nc %s %d </dev/null | sha256sum | cut -d' ' -f1", guestTimeout(ctx), at.Addr(), at.Port()))
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("rig: download: %w", err)
	}
	if err := wait(ctx, done); err != nil {
		return nil, fmt.Errorf("rig: download source: %w", err)
	}
	if got := strings.TrimSpace(out); got != sum {
		return nil, fmt.Errorf("rig: download: guest sha256 %s, namespace sent %s", got, sum)
	}
	return &TransferResult{Bytes: size, SHA256: sum, Duration: elapsed}, nil
}

// guestTimeout is the seconds left before ctx's deadline (10 minutes
// without one), for busybox timeout around guest commands that could hang
// on a broken tunnel: the guest's command channel runs one command at a
// time, so a hung one would block the rest of the test.
func guestTimeout(ctx context.Context) int {
	if dl, ok := ctx.Deadline(); ok {
		return max(1, int(time.Until(dl).Seconds()))
	}
	return 600
}

// seed makes the download's content differ from run to run.
func seed() [32]byte {
	var s [32]byte
	crand.Read(s[:])
	return s
}
