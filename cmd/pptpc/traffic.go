package main

// Traffic mode (-traffic ADDR, with -sessions N): a load generator cheap
// enough that a benchmark's figure is the server's cost, not the client's.
// After the logins every session's packets are built and encrypted up
// front, with the GRE writes captured instead of sent; the timed part then
// only replays them through sendmmsg, round-robin over the sessions, in
// each session's sequence order (so the server sees every GRE sequence
// number and MPPE coherency count once, in order, as from a real client).
// The server's deliveries are counted where they land (make bench reads
// boxd's TUN counters); pptpc reports what it offered.

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
)

// trafficOptions are the -traffic* flags.
type trafficOptions struct {
	dst   string        // -traffic: UDP destination ADDR:PORT behind the server
	size  int           // -traffic-size: IP packet size
	bytes int64         // -traffic-bytes: what all sessions send together
	rate  float64       // -traffic-rate: packets per second, all sessions (0: no pacing)
	max   time.Duration // -traffic-time: stop sending after this long
	conn  *captureConn  // the GRE connection, once wrapped
}

func trafficFlags(fs *flag.FlagSet) *trafficOptions {
	t := &trafficOptions{}
	fs.StringVar(&t.dst, "traffic", "", "traffic mode (with -sessions): each session sends UDP to ADDR:PORT from packets encrypted before the timed part")
	fs.IntVar(&t.size, "traffic-size", 1400, "traffic mode: IP packet size (capped at the session's MTU)")
	fs.Int64Var(&t.bytes, "traffic-bytes", 256<<20, "traffic mode: bytes all sessions send together")
	fs.Float64Var(&t.rate, "traffic-rate", 0, "traffic mode: packets per second of all sessions together (0: as fast as sendmmsg goes)")
	fs.DurationVar(&t.max, "traffic-time", 30*time.Second, "traffic mode: stop sending after this long")
	return t
}

func (t *trafficOptions) enabled() bool { return t.dst != "" }

// wrap puts the capture layer under the client mux in traffic mode.
func (t *trafficOptions) wrap(g gre.Conn) gre.Conn {
	if !t.enabled() {
		return g
	}
	t.conn = &captureConn{Conn: g}
	return t.conn
}

// captureConn is a GRE connection whose writes can be stored (copied, in
// order) instead of sent.
type captureConn struct {
	gre.Conn
	mu        sync.Mutex
	capturing bool
	captured  []gre.Message
}

func (c *captureConn) WriteBatch(msgs []gre.Message) (int, error) {
	c.mu.Lock()
	if c.capturing {
		for _, m := range msgs {
			c.captured = append(c.captured, gre.Message{Buf: append([]byte(nil), m.Buf[:m.N]...), N: m.N, Addr: m.Addr})
		}
		c.mu.Unlock()
		return len(msgs), nil
	}
	c.mu.Unlock()
	return c.Conn.WriteBatch(msgs)
}

// take turns capturing on or off and returns what was captured so far.
func (c *captureConn) take(on bool) []gre.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capturing = on
	out := c.captured
	c.captured = nil
	return out
}

// trafficResult is what the timed part offered.
type trafficResult struct {
	packets, bytes int
	elapsed        time.Duration
}

func (r trafficResult) String() string {
	return fmt.Sprintf("traffic: sent %d packets %d bytes in %s (%.1f Mbit/s offered)",
		r.packets, r.bytes, r.elapsed.Round(time.Microsecond), float64(r.bytes)*8/1e6/r.elapsed.Seconds())
}

// traffic logs o.sessions sessions in, sends t's traffic and hangs up.
func traffic(ctx context.Context, mux *client.Mux, cfg client.Config, o options, t *trafficOptions, stdout io.Writer) error {
	dst, err := netip.ParseAddrPort(t.dst)
	if err != nil || !dst.Addr().Is4() {
		return fmt.Errorf("-traffic %q: want IPv4ADDR:PORT", t.dst)
	}
	if o.sessions <= 0 {
		return errors.New("-traffic needs -sessions N")
	}
	if t.size < 28+1 || t.size > 1500 || t.bytes <= 0 {
		return errors.New("-traffic-size: want 29..1500; -traffic-bytes: want > 0")
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	o.abort = 0
	p := planLoad(o)
	r := dialAll(ctx, mux, cfg, p, o.concurrency)
	r.report(stdout, p)
	defer func() {
		var wg sync.WaitGroup
		for _, c := range r.clients {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
	}()
	if len(r.clients) < p.wantUp {
		return fmt.Errorf("%d sessions failed", p.wantUp-len(r.clients))
	}
	msgs, err := prepare(r.clients, dst, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "traffic: %d packets of %d sessions encrypted\n", len(msgs), len(r.clients))
	res, err := send(ctx, t.conn.Conn, msgs, t.rate, t.max)
	fmt.Fprintln(stdout, res)
	return err
}

// prepare encrypts each client's share of t.bytes (one packet at least)
// with the writes captured, and interleaves them round-robin.
func prepare(clients []*client.Client, dst netip.AddrPort, t *trafficOptions) ([]gre.Message, error) {
	per := max(1, int(t.bytes/int64(t.size)/int64(len(clients))))
	each := make([][]gre.Message, len(clients))
	t.conn.take(true)
	for i, c := range clients {
		size := min(t.size, int(c.Info().PeerMRU))
		pkt := udpPacket(c.Addr(), dst, size)
		for k := range per {
			binary.BigEndian.PutUint16(pkt[4:], uint16(k)) // IP ID
			putIPChecksum(pkt)
			if err := c.WriteIP(pkt); err != nil {
				t.conn.take(false)
				return nil, fmt.Errorf("session %s: %w", c.Addr(), err)
			}
		}
		each[i] = t.conn.take(true)
	}
	t.conn.take(false)
	return interleave(each), nil
}

// interleave takes one message of each list in turn, keeping each list's order.
func interleave(each [][]gre.Message) []gre.Message {
	var out []gre.Message
	for k := 0; ; k++ {
		more := false
		for _, l := range each {
			if k < len(l) {
				out = append(out, l[k])
				more = true
			}
		}
		if !more {
			return out
		}
	}
}

// sendBatch is how many packets one sendmmsg carries.
const sendBatch = 64

// send writes msgs in batches, paced at rate packets per second when rate
// is above 0, until they are all sent, max has passed or ctx ends.
func send(ctx context.Context, conn gre.Conn, msgs []gre.Message, rate float64, limit time.Duration) (trafficResult, error) {
	var r trafficResult
	start := time.Now()
	for r.packets < len(msgs) && ctx.Err() == nil {
		if time.Since(start) > limit {
			break
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(r.packets) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		batch := msgs[r.packets:min(len(msgs), r.packets+sendBatch)]
		n, err := conn.WriteBatch(batch)
		for _, m := range batch[:n] {
			r.bytes += m.N
		}
		r.packets += n
		if err != nil {
			r.elapsed = time.Since(start)
			return r, err
		}
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// udpPacket is an IPv4/UDP packet of size bytes from src to dst (UDP
// checksum 0: none).
func udpPacket(src netip.Addr, dst netip.AddrPort, size int) []byte {
	p := make([]byte, size)
	p[0], p[8], p[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(p[2:], uint16(size))
	s, d := src.As4(), dst.Addr().As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[20:], 9)
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(size-20))
	putIPChecksum(p)
	return p
}

// putIPChecksum sets the IPv4 header checksum of p (a 20-byte header).
func putIPChecksum(p []byte) {
	p[10], p[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
}
