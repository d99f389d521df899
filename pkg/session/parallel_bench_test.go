package session

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// BenchmarkServerParallel runs N sessions through the server at once, one
// way: each op is one 1400-byte packet, from a client through the server's
// receive loops into TUN (receive/...) or from TUN through the send loops
// to GRE (send/...), spread evenly over the sessions; MB/s is the
// aggregate. The server is
// NewSharded with GOMAXPROCS receive shards and TUN queues (as boxd runs
// it). Its GRE sockets are in-memory: each shard's gets the packets of its
// call IDs (what gre.ListenIPv4Shards' filters do), each TUN queue one
// session's flow (the kernel hashes flows to queues); the clients'
// packets are encrypted beforehand with the timer stopped, so the time is
// the server's. Compare sessions=16 with sessions=1: with two cores, the
// goal is 1.7 (issue 13).
func BenchmarkServerParallel(b *testing.B) {
	benchParallel(b, runtime.GOMAXPROCS(0))
}

// BenchmarkServerParallelOneLoop is BenchmarkServerParallel through one
// receive loop and one TUN queue: the dataplane's shape before sharding,
// for a ratio measured in the same run.
func BenchmarkServerParallelOneLoop(b *testing.B) {
	benchParallel(b, 1)
}

func benchParallel(b *testing.B, loops int) {
	for _, dir := range []string{"receive", "send"} {
		for _, n := range []int{1, 2, 16, 256} {
			b.Run(fmt.Sprintf("%s/sessions=%d", dir, n), func(b *testing.B) { runParallel(b, dir == "receive", n, loops) })
		}
	}
}

// parallelRig is the in-memory wiring of BenchmarkServerParallel.
type parallelRig struct {
	shards   []*feedGRE
	queues   []*feedTUN
	capture  switchGRE // the clients' GRE: captures their packets
	toTUN    atomic.Uint64
	dataSent atomic.Uint64
}

func runParallel(b *testing.B, receive bool, sessions, loops int) {
	pr, r, clients := newParallelRig(b, sessions, loops)
	lan := netip.MustParseAddr("192.0.2.1")
	up := make([][]byte, sessions)   // each client's packet to the LAN
	down := make([][]byte, sessions) // the LAN's packet to each client
	for i, c := range clients {
		up[i] = udpPacket(c.Addr(), lan, make([]byte, 1400-28))
		down[i] = udpPacket(lan, c.Addr(), make([]byte, 1400-28))
	}
	for _, f := range pr.shards {
		f.sink.Store(true)
	}
	b.SetBytes(1400)
	b.ReportAllocs()
	b.ResetTimer()
	// Chunks of about 4096 packets each way: captured (timer stopped),
	// then fed to the shards and queues at once.
	perChunk := max(1, 4096/sessions)
	var cpu, wall time.Duration
	for done := 0; done < b.N; {
		k := min(perChunk*sessions, b.N-done)
		b.StopTimer()
		rx := make([][]feedPacket, len(pr.shards))
		tx := make([][][]byte, len(pr.queues))
		wantTUN, wantSent := pr.toTUN.Load(), pr.dataSent.Load()
		if receive {
			pr.capture.setMode(modeCapture)
			for j := range k {
				if err := clients[j%sessions].WriteIP(up[j%sessions]); err != nil {
					b.Fatal(err)
				}
			}
			pr.capture.setMode(modePass)
			for _, p := range pr.capture.captured {
				h, payload, _ := gre.Parse(p)
				s := gre.Shard(h.CallID, loops)
				rx[s] = append(rx[s], feedPacket{p, netip.MustParseAddr("127.0.0.1")})
				if len(payload) >= 1400 {
					wantTUN++ // not the clients' acks
				}
			}
		} else {
			for j := range k {
				q := (j % sessions) % len(pr.queues) // one flow per session
				tx[q] = append(tx[q], down[j%sessions])
			}
			wantSent += uint64(k)
		}
		b.StartTimer()
		cpu0, wall0 := processCPU(), time.Now()
		for s, pkts := range rx {
			go pr.shards[s].feed(pkts)
		}
		for q, pkts := range tx {
			go pr.queues[q].feed(pkts)
		}
		deadline := time.Now().Add(30 * time.Second)
		for pr.toTUN.Load() < wantTUN || pr.dataSent.Load() < wantSent {
			if time.Now().After(deadline) {
				b.Fatalf("chunk: %d/%d to TUN, %d/%d sent (stats %+v)", pr.toTUN.Load(), wantTUN, pr.dataSent.Load(), wantSent, r.srv.Stats())
			}
			time.Sleep(50 * time.Microsecond)
		}
		cpu += processCPU() - cpu0
		wall += time.Since(wall0)
		done += k
	}
	b.StopTimer()
	// The cores the process kept busy while timed (the feeders and the
	// waiting included): on a machine shared with other work, throughput
	// ratios mean little unless this says the cores were there.
	b.ReportMetric(float64(cpu)/float64(wall), "cores")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	for _, f := range pr.shards {
		f.sink.Store(false)
	}
}

// newParallelRig is a server with loops receive shards and TUN queues on
// in-memory sockets (feedGRE, feedTUN), and sessions clients logged in.
func newParallelRig(b testing.TB, sessions, loops int) (*parallelRig, *rig, []*client.Client) {
	b.Helper()
	return newParallelRigBatched(b, sessions, loops, 1)
}

// newParallelRigBatched is newParallelRig with TUN queues whose reads
// yield up to tunBatch packets, as a device with offloads does.
func newParallelRigBatched(b testing.TB, sessions, loops, tunBatch int) (*parallelRig, *rig, []*client.Client) {
	b.Helper()
	pr := &parallelRig{}
	var users []aaa.LocalUser
	for i := range sessions {
		users = append(users, aaa.LocalUser{Name: fmt.Sprintf("u%d", i), Password: "pw"})
	}
	ranges, _ := ippool.ParseRanges("10.80.0.10-10.80.3.250")
	r := newRigWrapped(b, func(c *Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.Authenticator = aaa.NewLocal(users)
		c.Pool = ippool.New(ranges)
	}, rigWrap{
		client: func(g gre.Conn) gre.Conn { pr.capture.Conn = g; return &pr.capture },
		sharded: func(g gre.Conn, _ tun.Device) ([]gre.Conn, []tun.Device) {
			var gs []gre.Conn
			var ts []tun.Device
			for range loops {
				f := &feedGRE{out: g, in: make(chan []feedPacket, 64), done: make(chan struct{}), sent: &pr.dataSent}
				pr.shards = append(pr.shards, f)
				gs = append(gs, f)
				q := &feedTUN{in: make(chan [][]byte, 64), done: make(chan struct{}), written: &pr.toTUN, batch: tunBatch}
				pr.queues = append(pr.queues, q)
				ts = append(ts, q)
			}
			// Until the timed part, the clients' packets reach the shards
			// through the pipe, sorted by call ID as the kernel's filters do.
			go func() {
				msgs := make([]gre.Message, 1)
				msgs[0].Buf = make([]byte, 2048)
				for {
					if _, err := g.ReadBatch(msgs); err != nil {
						return
					}
					h, _, err := gre.Parse(msgs[0].Buf[:msgs[0].N])
					if err != nil {
						continue
					}
					f := pr.shards[gre.Shard(h.CallID, loops)]
					select {
					case f.in <- []feedPacket{{append([]byte(nil), msgs[0].Buf[:msgs[0].N]...), msgs[0].Addr}}:
					case <-f.done:
						return
					}
				}
			}()
			return gs, ts
		},
	})
	clients := make([]*client.Client, sessions)
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	sem := make(chan struct{}, 16)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := r.dial(b, users[i].Name, "pw", nil)
			clients[i] = c
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return pr, r, clients
}

type feedPacket struct {
	b    []byte
	from netip.Addr
}

// feedGRE is one receive shard's GRE socket: ReadBatch yields the packets
// fed to it (copied, as recvmmsg does); writes go to the clients' pipe,
// or once sink is set, data packets are counted in sent and dropped.
type feedGRE struct {
	out  gre.Conn
	in   chan []feedPacket
	cur  []feedPacket
	done chan struct{}
	once sync.Once
	sink atomic.Bool
	sent *atomic.Uint64
	// onSent, when set, sees each data packet sunk: header and PPP frame.
	onSent func(gre.Header, []byte)
}

func (f *feedGRE) feed(pkts []feedPacket) {
	for len(pkts) > 0 {
		n := min(batch, len(pkts))
		select {
		case f.in <- pkts[:n]:
		case <-f.done:
			return
		}
		pkts = pkts[n:]
	}
}

func (f *feedGRE) ReadBatch(msgs []gre.Message) (int, error) {
	if len(f.cur) == 0 {
		select {
		case f.cur = <-f.in:
		case <-f.done:
			return 0, net.ErrClosed
		}
	}
	n := 0
	for n < len(msgs) && n < len(f.cur) {
		msgs[n].N = copy(msgs[n].Buf, f.cur[n].b)
		msgs[n].Addr = f.cur[n].from
		n++
	}
	f.cur = f.cur[n:]
	return n, nil
}

func (f *feedGRE) WriteBatch(msgs []gre.Message) (int, error) {
	if !f.sink.Load() {
		return f.out.WriteBatch(msgs)
	}
	for _, m := range msgs {
		if h, payload, err := gre.Parse(m.Buf[:m.N]); err == nil && h.HasSeq && len(payload) >= 1400 {
			if f.onSent != nil {
				f.onSent(h, payload)
			}
			f.sent.Add(1)
		} else if _, err := f.out.WriteBatch([]gre.Message{m}); err != nil {
			return 0, err // an ack for the clients
		}
	}
	return len(msgs), nil
}

func (f *feedGRE) Close() error {
	f.once.Do(func() { close(f.done) })
	return f.out.Close() // the pipe end all shards share: ends the sorter
}

// feedTUN is one TUN queue: Read yields the packets fed to it one per
// call (as a TUN read does), or up to batch of them (a split
// super-packet), copied behind the headroom; writes are counted in
// written and dropped.
type feedTUN struct {
	batch   int
	in      chan [][]byte
	cur     [][]byte
	done    chan struct{}
	once    sync.Once
	written *atomic.Uint64
	// onWrite, when set, sees each packet written.
	onWrite func([]byte)
}

func (q *feedTUN) feed(pkts [][]byte) {
	for len(pkts) > 0 {
		n := min(batch, len(pkts))
		select {
		case q.in <- pkts[:n]:
		case <-q.done:
			return
		}
		pkts = pkts[n:]
	}
}

func (q *feedTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if len(q.cur) == 0 {
		select {
		case q.cur = <-q.in:
		case <-q.done:
			return 0, tun.ErrClosed
		}
	}
	n := min(len(bufs), len(q.cur), q.BatchSize())
	for i := range n {
		sizes[i] = copy(bufs[i][offset:], q.cur[i])
	}
	q.cur = q.cur[n:]
	return n, nil
}

func (q *feedTUN) Write(bufs [][]byte, offset int) (int, error) {
	if q.onWrite != nil {
		for _, b := range bufs {
			q.onWrite(b[offset:])
		}
	}
	q.written.Add(uint64(len(bufs)))
	return len(bufs), nil
}

func (q *feedTUN) BatchSize() int { return max(q.batch, 1) }
func (q *feedTUN) Name() string   { return "pptp0" }

func (q *feedTUN) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
