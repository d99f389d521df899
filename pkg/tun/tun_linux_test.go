package tun

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestQueuesSpreadFlows opens a two-queue TUN device in a namespace of its
// own, routes a /24 to it and sends UDP to 64 ports: the kernel spreads the
// flows over both queues (flow hash), each packet arrives whole behind the
// headroom, a write on either queue is accepted, and Close ends a blocked
// Read with ErrClosed. Needs root and ip(8).
func TestQueuesSpreadFlows(t *testing.T) {
	netnstest.Run(t, func() error {
		qs, err := OpenQueues("tq%d", 2)
		if err != nil {
			return err
		}
		name := qs[0].Name()
		if qs[1].Name() != name || name == "tq%d" {
			return fmt.Errorf("queue names %q %q", name, qs[1].Name())
		}
		for _, args := range [][]string{
			{"addr", "add", "10.66.0.1/24", "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("ip %v: %v: %s", args, err, out)
			}
		}
		const headroom = 40
		var got [2]atomic.Int64
		var bad atomic.Value
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, q := range qs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bufs, sizes := [][]byte{make([]byte, headroom+2048)}, []int{0}
				for {
					n, err := q.Read(bufs, sizes, headroom)
					if err != nil {
						errs[i] = err
						return
					}
					p := bufs[0][headroom : headroom+sizes[0]]
					if n != 1 || len(p) < 28 || p[0]>>4 != 4 {
						continue // IPv6 router solicitations and the like
					}
					if p[9] == 17 && string(p[28:]) != "payload" {
						bad.Store(fmt.Sprintf("packet %x", p))
					}
					got[i].Add(1)
				}
			}()
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 66, 0, 1)})
		if err != nil {
			return err
		}
		defer c.Close()
		for port := 1000; port < 1064; port++ {
			if _, err := c.WriteToUDP([]byte("payload"), &net.UDPAddr{IP: net.IPv4(10, 66, 0, 2), Port: port}); err != nil {
				return err
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for got[0].Load()+got[1].Load() < 64 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// A packet written to either queue goes into the stack.
		port := c.LocalAddr().(*net.UDPAddr).Port
		for i, q := range qs {
			pkt := udp4([4]byte{10, 66, 0, 2}, [4]byte{10, 66, 0, 1}, port, fmt.Sprintf("from queue %d", i))
			buf := append(make([]byte, headroom), pkt...)
			if n, err := q.Write([][]byte{buf}, headroom); n != 1 || err != nil {
				return fmt.Errorf("queue %d: write: %d, %v", i, n, err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b := make([]byte, 64)
			n, _, err := c.ReadFromUDP(b)
			if err != nil || string(b[:n]) != fmt.Sprintf("from queue %d", i) {
				return fmt.Errorf("queue %d: written packet not received: %q, %v", i, b[:n], err)
			}
		}
		for _, q := range qs {
			q.Close()
		}
		wg.Wait()
		if b := bad.Load(); b != nil {
			return fmt.Errorf("corrupt: %v", b)
		}
		if got[0].Load()+got[1].Load() < 64 || got[0].Load() == 0 || got[1].Load() == 0 {
			return fmt.Errorf("queues got %d and %d of 64 flows", got[0].Load(), got[1].Load())
		}
		for i, err := range errs {
			if !errors.Is(err, ErrClosed) {
				return fmt.Errorf("queue %d: read after close: %v", i, err)
			}
		}
		return nil
	}, "ip")
}

// udp4 builds an IPv4/UDP packet (UDP checksum 0: none, RFC 768).
func udp4(src, dst [4]byte, port int, payload string) []byte {
	p := make([]byte, 28+len(payload))
	p[0], p[8], p[9] = 0x45, 64, 17
	p[2], p[3] = byte(len(p)>>8), byte(len(p))
	copy(p[12:16], src[:])
	copy(p[16:20], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(p[i])<<8 | uint32(p[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	p[10], p[11] = byte(^sum>>8), byte(^sum)
	p[20], p[21] = 0x30, 0x39 // source port 12345
	p[22], p[23] = byte(port>>8), byte(port)
	p[24], p[25] = byte((8+len(payload))>>8), byte(8+len(payload))
	copy(p[28:], payload)
	return p
}

// TestQueuesSingleQueueDevice: a persistent device made without
// multi_queue refuses IFF_MULTI_QUEUE; OpenQueues then opens its one
// queue, which carries packets.
func TestQueuesSingleQueueDevice(t *testing.T) {
	netnstest.Run(t, func() error {
		if out, err := exec.Command("ip", "tuntap", "add", "dev", "tqs0", "mode", "tun").CombinedOutput(); err != nil {
			return fmt.Errorf("ip tuntap add: %v: %s", err, out)
		}
		qs, err := OpenQueues("tqs0", 2)
		if err != nil {
			return err
		}
		defer qs[0].Close()
		if len(qs) != 1 || qs[0].Name() != "tqs0" {
			return fmt.Errorf("%d queues named %q, want 1 named tqs0", len(qs), qs[0].Name())
		}
		for _, args := range [][]string{
			{"addr", "add", "10.67.0.1/24", "dev", "tqs0"},
			{"link", "set", "tqs0", "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("ip %v: %v: %s", args, err, out)
			}
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 67, 0, 1)})
		if err != nil {
			return err
		}
		defer c.Close()
		port := c.LocalAddr().(*net.UDPAddr).Port
		pkt := append(make([]byte, 16), udp4([4]byte{10, 67, 0, 2}, [4]byte{10, 67, 0, 1}, port, "one queue")...)
		if _, err := qs[0].Write([][]byte{pkt}, 16); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 64)
		n, _, err := c.ReadFromUDP(b)
		if err != nil || string(b[:n]) != "one queue" {
			return fmt.Errorf("written packet not received: %q, %v", b[:n], err)
		}
		return nil
	}, "ip")
}
