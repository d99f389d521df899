package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pptpbox/pptpbox/qemu/netns"
)

// udpPayload makes 1400-byte IP packets (20 IP + 8 UDP + 1372), the size
// of the crypto rows.
const udpPayload = 1400 - 28

// tcpRate sends TCP from a socket in from to a listener at addr in to for
// d and returns the payload throughput the receiver saw, Mbit/s.
func tcpRate(ctx context.Context, from, to *netns.NS, addr netip.AddrPort, d time.Duration) (float64, error) {
	var ln net.Listener
	if err := to.Do(func() (err error) { ln, err = net.Listen("tcp4", addr.String()); return err }); err != nil {
		return 0, fmt.Errorf("listen %s: %w", addr, err)
	}
	defer ln.Close()
	type result struct {
		n   int64
		d   time.Duration
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(d + 30*time.Second))
		t0 := time.Now()
		n, err := io.Copy(io.Discard, c)
		got <- result{n, time.Since(t0), err}
	}()
	var c net.Conn
	if err := from.Do(func() (err error) {
		c, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp4", addr.String())
		return err
	}); err != nil {
		return 0, fmt.Errorf("dial %s: %w", addr, err)
	}
	buf := make([]byte, 64<<10)
	c.SetWriteDeadline(time.Now().Add(d))
	for ctx.Err() == nil {
		if _, err := c.Write(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			c.Close()
			return 0, err
		}
	}
	c.Close()
	r := <-got
	if r.err != nil {
		return 0, r.err
	}
	return float64(r.n) * 8 / 1e6 / r.d.Seconds(), nil
}

// udpRate sends 1400-byte packets as fast as one socket can from from to
// addr in to for d, and returns what arrived, Mbit/s of IP packets.
func udpRate(ctx context.Context, from, to *netns.NS, addr netip.AddrPort, d time.Duration) (float64, error) {
	var rx *net.UDPConn
	if err := to.Do(func() (err error) { rx, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr)); return err }); err != nil {
		return 0, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	defer rx.Close()
	rx.SetReadBuffer(4 << 20)
	counted := make(chan int64, 1)
	go func() {
		var n int64
		buf := make([]byte, 2048)
		for {
			rx.SetReadDeadline(time.Now().Add(time.Second))
			k, err := rx.Read(buf)
			if err != nil {
				counted <- n
				return
			}
			n += int64(k + 28)
		}
	}()
	var tx *net.UDPConn
	if err := from.Do(func() (err error) { tx, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(addr)); return err }); err != nil {
		return 0, fmt.Errorf("dial udp %s: %w", addr, err)
	}
	defer tx.Close()
	buf := make([]byte, udpPayload)
	t0 := time.Now()
	for time.Since(t0) < d && ctx.Err() == nil {
		tx.Write(buf) // a full queue (ENOBUFS) only drops the packet
	}
	elapsed := time.Since(t0)
	n := <-counted
	if n == 0 {
		return 0, fmt.Errorf("udp to %s: nothing arrived", addr)
	}
	return float64(n) * 8 / 1e6 / elapsed.Seconds(), nil
}
