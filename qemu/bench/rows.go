package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
)

// bench is one run: what the rows share.
type bench struct {
	ctx   context.Context
	bins  Binaries
	dir   string // scratch, under out/
	cores int
	opts  Options
	rep   *Report
	// The one-core crypto bound of each direction of boxd's work (Mbit/s):
	// decrypt for client-to-box, encrypt for box-to-client.
	decryptMbps, encryptMbps float64
	shared                   *netBench // boxd of rows 2-4 (local users)
	// lastCPU: boxd's and the machine's cores while trafficRun's last run
	// sent.
	lastCPU struct{ boxd, busy float64 }
}

// Options size the run (BENCH_QUICK=1 makes every row small).
type Options struct {
	Quick        bool
	QEMU         bool
	Benchtime    string
	Count        int
	Transfer     time.Duration // each single-session transfer
	ParallelNs   []int
	TrafficTime  time.Duration // offered per parallel run
	Tries        int           // parallel runs per N (the rate search)
	Logins       int           // sessions per login round, local users
	LoginsRADIUS int
	Rounds       int
	Idle         int // idle sessions held
	IdleSteps    int // pptpc processes the idle sessions are opened by, one after another
}

func defaultOptions(quick bool) Options {
	if quick {
		return Options{Quick: true, Benchtime: "200ms", Count: 1, Transfer: time.Second, ParallelNs: []int{1, 2, 16},
			TrafficTime: time.Second, Tries: 4, Logins: 100, LoginsRADIUS: 50, Rounds: 1, Idle: 400, IdleSteps: 2}
	}
	return Options{QEMU: true, Benchtime: "1s", Count: 3, Transfer: 4 * time.Second, ParallelNs: []int{1, 2, 16, 256},
		TrafficTime: 2 * time.Second, Tries: 6, Logins: 1000, LoginsRADIUS: 500, Rounds: 3, Idle: 10000, IdleSteps: 4}
}

// rowCrypto is (1): RC4 alone and stateless MPPE-128 per 1400-byte
// packet on one core, and the old code's figure when the tree still has
// it as BenchmarkEncryptStatelessReference.
func (b *bench) rowCrypto() (Row, error) {
	row := Row{ID: 1, Name: "crypto bound, 1 core (RC4, stateless MPPE-128, 1400 B)"}
	rc4 := rc4Mbps()
	b.rep.CryptoRC4Mbps = ptr(rc4)
	re := benchNames("BenchmarkEncryptStateless", "BenchmarkDecryptStateless", "BenchmarkEncryptStatelessReference")
	got, _, err := goBench(b.ctx, "./pkg/mppe", re, b.opts.Benchtime, b.opts.Count, 1)
	if err != nil {
		return row, err
	}
	enc, ok := got["BenchmarkEncryptStateless"]
	if !ok {
		return row, fmt.Errorf("no BenchmarkEncryptStateless in pkg/mppe")
	}
	b.encryptMbps = mbps(enc.MBPerS)
	b.rep.CryptoMPPEStatelessMbps = ptr(b.encryptMbps)
	b.decryptMbps = b.encryptMbps
	if dec, ok := got["BenchmarkDecryptStateless"]; ok {
		b.decryptMbps = mbps(dec.MBPerS)
		b.rep.CryptoMPPEStatelessDecryptMbps = ptr(b.decryptMbps)
	}
	row.Result = fmt.Sprintf("RC4 %.0f, MPPE encrypt %.0f (±%.0f%%), decrypt %.0f Mbit/s", rc4, b.encryptMbps, enc.Spread*100, b.decryptMbps)
	if ref, ok := got["BenchmarkEncryptStatelessReference"]; ok && ref.MBPerS > 0 {
		b.rep.CryptoMPPEStatelessReferenceMbps = ptr(mbps(ref.MBPerS))
		sp := enc.MBPerS / ref.MBPerS
		b.rep.MPPESpeedupOverReference = ptr(sp)
		row.Result += fmt.Sprintf("; %.2f× the old code", sp)
		row.Goal, row.Met = "≥ 1.3× old stateless MPPE", met(sp >= 1.3)
	} else {
		row.Result += "; no BenchmarkEncryptStatelessReference in this tree: speed-up not measured"
	}
	return row, nil
}

// rowAllocs is (6): allocations per forwarded packet in the server's
// send and receive paths (pkg/session benchmarks, -benchmem), and the
// in-process multi-core figure (serverParallel) when the tree has it.
func (b *bench) rowAllocs() (Row, error) {
	row := Row{ID: 6, Name: "allocations per forwarded packet", Goal: "0"}
	re := benchNames("BenchmarkServerSend", "BenchmarkServerReceive")
	got, _, err := goBench(b.ctx, "./pkg/session", re, b.opts.Benchtime, 1, 1)
	if err != nil {
		return row, err
	}
	send, ok1 := got["BenchmarkServerSend"]
	recv, ok2 := got["BenchmarkServerReceive"]
	if !ok1 || !ok2 {
		return row, fmt.Errorf("pkg/session lacks BenchmarkServerSend/Receive")
	}
	b.rep.AllocsPerPacketSend, b.rep.AllocsPerPacketReceive = ptr(send.AllocsPerOp), ptr(recv.AllocsPerOp)
	worst := max(send.AllocsPerOp, recv.AllocsPerOp)
	b.rep.AllocsPerPacket = ptr(worst)
	row.Met = met(worst == 0)
	row.Result = fmt.Sprintf("send %g, receive %g (ServerSend %.0f, ServerReceive %.0f Mbit/s)", send.AllocsPerOp, recv.AllocsPerOp, mbps(send.MBPerS), mbps(recv.MBPerS))
	par, err := b.serverParallel()
	if err != nil {
		return row, err
	}
	if par == nil {
		row.Result += "; no BenchmarkServerParallel in this tree"
		return row, nil
	}
	b.rep.ServerParallel = par
	row.Result += fmt.Sprintf("; in-process, all cores, 16 sessions over 1: receive %.2f× (one loop %.2f×), send %.2f× (one loop %.2f×); allocs %g",
		par.Ratio["receive"], par.RatioOneLoop["receive"], par.Ratio["send"], par.RatioOneLoop["send"], par.AllocsPerOp)
	if par.AllocsPerOp > worst {
		row.Met = met(false)
	}
	return row, nil
}

// serverParallel runs pkg/session's BenchmarkServerParallel (the sharded
// server: one receive loop per GRE socket shard, one send loop per TUN
// queue) and BenchmarkServerParallelOneLoop (the same code with one of
// each, the shape before sharding) for 1 and 16 sessions on every core,
// in one go test run so that the ratios compare like with like. nil when
// the tree has no such benchmark.
func (b *bench) serverParallel() (*ServerParallel, error) {
	re := `^BenchmarkServerParallel(OneLoop)?$/^(receive|send)$/^sessions=(1|16)$`
	got, _, err := goBench(b.ctx, "./pkg/session", re, "20000x", b.opts.Count, b.cores)
	if err != nil {
		return nil, err
	}
	p := &ServerParallel{Mbps: map[string]float64{}, Ratio: map[string]float64{}, RatioOneLoop: map[string]float64{}}
	for name, r := range got {
		key := strings.TrimPrefix(name, "BenchmarkServerParallel")
		p.Mbps[strings.TrimPrefix(key, "/")] = mbps(r.MBPerS)
		p.AllocsPerOp = max(p.AllocsPerOp, r.AllocsPerOp)
	}
	if len(p.Mbps) == 0 {
		return nil, nil
	}
	for _, dir := range []string{"receive", "send"} {
		if one := p.Mbps[dir+"/sessions=1"]; one > 0 {
			p.Ratio[dir] = p.Mbps[dir+"/sessions=16"] / one
		}
		if one := p.Mbps["OneLoop/"+dir+"/sessions=1"]; one > 0 {
			p.RatioOneLoop[dir] = p.Mbps["OneLoop/"+dir+"/sessions=16"] / one
		}
	}
	return p, nil
}

// sharedNet is the boxd of rows 2-4 with local users, started once.
func (b *bench) sharedNet() (*netBench, error) {
	if b.shared != nil {
		return b.shared, nil
	}
	n, err := startNet(b.ctx, b.bins, mkdir(b.dir, "net"), func(*netBench) (string, error) { return boxConfig(""), nil })
	if err != nil {
		return nil, err
	}
	b.shared = n
	return n, nil
}

var connectedRe = regexp.MustCompile(`connected: local (\S+) remote (\S+)`)

// rowSingle is (2): one session, pptpc with its TUN in cli, boxd in srv,
// Go TCP and UDP senders through the tunnel both ways.
func (b *bench) rowSingle() (Row, error) {
	row := Row{ID: 2, Name: "1 session boxd ⇄ pptpc (TUN), real processes", Goal: "≥ 0.8 of (1)"}
	if b.decryptMbps == 0 {
		return row, fmt.Errorf("no crypto bound: row 1 failed")
	}
	n, err := b.sharedNet()
	if err != nil {
		return row, err
	}
	p, err := n.pptpc(b.ctx, "-tun", "bench0")
	if err != nil {
		return row, err
	}
	defer p.stop(10 * time.Second)
	line, err := p.wait(b.ctx, "connected:", 30*time.Second)
	if err != nil {
		return row, err
	}
	m := connectedRe.FindStringSubmatch(line)
	local, err := netip.ParseAddr(m[1])
	if err != nil {
		return row, fmt.Errorf("pptpc: %q", line)
	}
	d := b.opts.Transfer
	s := &Single{Ratios: map[string]float64{}}
	steps := []struct {
		name string
		dst  *float64
		run  func() (float64, error)
	}{
		{"tcp_up", &s.TCPUpMbps, func() (float64, error) { return tcpRate(b.ctx, n.cli, n.srv, netip.AddrPortFrom(tunLocal, 5001), d) }},
		{"tcp_down", &s.TCPDownMbps, func() (float64, error) { return tcpRate(b.ctx, n.srv, n.cli, netip.AddrPortFrom(local, 5002), d) }},
		{"udp_up", &s.UDPUpMbps, func() (float64, error) { return udpRate(b.ctx, n.cli, n.srv, netip.AddrPortFrom(tunLocal, 5003), d) }},
		{"udp_down", &s.UDPDownMbps, func() (float64, error) { return udpRate(b.ctx, n.srv, n.cli, netip.AddrPortFrom(local, 5004), d) }},
	}
	for _, st := range steps {
		v, err := st.run()
		if err != nil {
			return row, fmt.Errorf("%s: %w", st.name, err)
		}
		*st.dst = v
		bound := b.decryptMbps
		if strings.HasSuffix(st.name, "down") {
			bound = b.encryptMbps
		}
		s.Ratios[st.name] = v / bound
	}
	b.rep.Single = s
	worst := min(s.Ratios["udp_up"], s.Ratios["udp_down"])
	b.rep.ThroughputRatioToCrypto = ptr(worst)
	row.Met = met(worst >= 0.8)
	row.Result = fmt.Sprintf("TCP up %.0f down %.0f, UDP up %.0f down %.0f Mbit/s; UDP %.2f/%.2f of (1) (TCP %.2f/%.2f)",
		s.TCPUpMbps, s.TCPDownMbps, s.UDPUpMbps, s.UDPDownMbps, s.Ratios["udp_up"], s.Ratios["udp_down"], s.Ratios["tcp_up"], s.Ratios["tcp_down"])
	return row, nil
}

var sentRe = regexp.MustCompile(`traffic: sent (\d+) packets (\d+) bytes in (\S+)`)

// trafficRun is one run of pptpc's traffic mode: sessions sessions send
// to the sink at pps packets per second for about d; delivered is what
// boxd wrote to its TUN per second of sending (Mbit/s), loss the fraction
// of the offered bytes it did not.
func (b *bench) trafficRun(n *netBench, sessions int, pps float64, d time.Duration) (offered, delivered, loss float64, err error) {
	bytes := min(int64(pps*1400*d.Seconds()), 768<<20)
	pk0, rx0, err := n.tunRx(b.ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	st0, err := n.boxd.Stats(b.ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	p, err := n.pptpc(b.ctx, "-sessions", strconv.Itoa(sessions), "-traffic", sinkAddr.String(),
		"-traffic-bytes", strconv.FormatInt(bytes, 10), "-traffic-rate", fmt.Sprintf("%.0f", pps))
	if err != nil {
		return 0, 0, 0, err
	}
	fail := func(err error) (float64, float64, float64, error) {
		p.stop(5 * time.Second)
		return 0, 0, 0, err
	}
	// The timed part starts after this line: boxd's and the machine's CPU
	// are sampled around it.
	if _, err := p.wait(b.ctx, `traffic: \d+ packets of \d+ sessions encrypted`, 5*time.Minute); err != nil {
		return fail(err)
	}
	cpu0, err := sampleCPU(n.boxd.PID())
	if err != nil {
		return fail(err)
	}
	line, err := p.wait(b.ctx, "traffic: sent", 5*time.Minute)
	if err != nil {
		return fail(err)
	}
	cpu1, err := sampleCPU(n.boxd.PID())
	if err != nil {
		return fail(err)
	}
	b.lastCPU.boxd, b.lastCPU.busy = cpu0.cores(cpu1)
	m := sentRe.FindStringSubmatch(line)
	pkts, _ := strconv.ParseFloat(m[1], 64)
	sent, _ := strconv.ParseFloat(m[2], 64)
	elapsed, err := time.ParseDuration(m[3])
	if err != nil || elapsed <= 0 || pkts == 0 {
		return 0, 0, 0, fmt.Errorf("pptpc: %q", line)
	}
	time.Sleep(300 * time.Millisecond) // boxd drains its socket
	pk1, rx1, err := n.tunRx(b.ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	if st1, err := n.boxd.Stats(b.ctx); err == nil {
		fmt.Fprintf(os.Stderr, "bench: N=%d: boxd mppe_rekey_limited +%d, gre_dropped +%d, peer_wrong_source +%d\n", sessions,
			st1.MPPERekeyLimited-st0.MPPERekeyLimited, st1.GREDropped-st0.GREDropped, st1.PeerWrongSource-st0.PeerWrongSource)
	}
	if err := p.exited(time.Minute); err != nil {
		return 0, 0, 0, fmt.Errorf("pptpc -traffic: %w", err)
	}
	if _, err := n.waitSessions(b.ctx, time.Minute, func(k int) bool { return k == 0 }); err != nil {
		return 0, 0, 0, err
	}
	// Offered: GRE packets (IP packet + 20 bytes of GRE, PPP and MPPE
	// headers); delivered: IP packets. Loss counts packets (the few
	// captured acks among the sent ones make it err on the high side).
	got := float64(rx1 - rx0)
	return sent * 8 / 1e6 / elapsed.Seconds(), got * 8 / 1e6 / elapsed.Seconds(), max(0, 1-float64(pk1-pk0)/pkts), nil
}

// maxLoss is the loss above which a parallel run counts as overloaded: a
// packet boxd drops makes the next one of its session jump in the MPPE
// count (a rekey per step, and the rekey rate is limited), so overload
// collapses the throughput instead of capping it.
const maxLoss = 0.01

// rowParallel is (3): N sessions of pptpc's traffic mode (packets
// encrypted before the timed part, replayed with sendmmsg) toward the
// sink; what boxd wrote to its TUN per second. The offered rate is
// searched: first the one-core decrypt bound times min(N, cores), then
// bisection between the best rate with at most 1% loss and the lowest
// overloaded one; the best run with at most 1% loss counts.
func (b *bench) rowParallel() (Row, error) {
	row := Row{ID: 3, Name: "N sessions in parallel, client→box (pptpc -traffic)", Goal: "16 sessions ≥ 1.7× one session"}
	if b.decryptMbps == 0 {
		return row, fmt.Errorf("no crypto bound: row 1 failed")
	}
	n, err := b.sharedNet()
	if err != nil {
		return row, err
	}
	var res []string
	var one float64
	for _, sessions := range b.opts.ParallelNs {
		lanes := float64(min(sessions, b.cores))
		lo, hi := 0.0, lanes*b.decryptMbps
		rate := hi
		var best Parallel
		var peak float64
		for try := range b.opts.Tries {
			off, got, loss, err := b.trafficRun(n, sessions, rate*1e6/8/1400, b.opts.TrafficTime)
			if err != nil {
				return row, fmt.Errorf("N=%d: %w", sessions, err)
			}
			fmt.Fprintf(os.Stderr, "bench: N=%d try %d: offered %.0f delivered %.0f Mbit/s, loss %.1f%%; boxd %.2f cores, machine %.2f busy\n",
				sessions, try+1, off, got, loss*100, b.lastCPU.boxd, b.lastCPU.busy)
			peak = max(peak, got)
			if loss <= maxLoss {
				lo = rate
				if got > best.DeliveredMbps {
					best = Parallel{Sessions: sessions, OfferedMbps: off, DeliveredMbps: got, Loss: loss,
						BoxdCores: b.lastCPU.boxd, BusyCores: b.lastCPU.busy}
				}
				if try == 0 {
					break // the bound itself carried
				}
			} else {
				hi = rate
			}
			rate = (lo + hi) / 2
		}
		if best.Sessions == 0 {
			return row, fmt.Errorf("N=%d: every rate tried lost more than %.0f%%", sessions, maxLoss*100)
		}
		best.PeakMbps = peak
		if sessions == 1 {
			one = best.DeliveredMbps
		}
		if one > 0 {
			best.RatioToOne = best.DeliveredMbps / (lanes * one)
		}
		b.rep.Parallel = append(b.rep.Parallel, best)
		res = append(res, fmt.Sprintf("N=%d %.0f Mbit/s (%.2f; peak %.0f; boxd %.2f of %.2f busy cores)", sessions, best.DeliveredMbps, best.RatioToOne, peak, best.BoxdCores, best.BusyCores))
	}
	row.Result = strings.Join(res, "; ") + " (ratio to min(N, cores) × N=1; peak: best of any try, lossy; cores: boxd's CPU and the machine's busy CPU while sending)"
	for _, pr := range b.rep.Parallel {
		if pr.Sessions == 16 && one > 0 {
			row.Met = met(pr.DeliveredMbps >= 1.7*one)
		}
	}
	return row, nil
}

var (
	upRe    = regexp.MustCompile(`sessions up: (\d+) of (\d+) in (\S+)`)
	setupRe = regexp.MustCompile(`set-up time: p50 (\S+)(?: p95 \S+)?(?: p99 (\S+))?.* max (\S+)`)
)

// loginRound is one `pptpc -sessions N -hold 0s`: logins per second,
// p50 and p99 set-up times in ms (p99: pptpc's max when it prints no
// p99, an upper bound).
func loginRound(ctx context.Context, n *netBench, sessions int) (perSec, p50, p99 float64, err error) {
	p, err := n.pptpc(ctx, "-sessions", strconv.Itoa(sessions), "-hold", "0s")
	if err != nil {
		return 0, 0, 0, err
	}
	line, err := p.wait(ctx, "sessions up:", 3*time.Minute)
	if err != nil {
		p.stop(5 * time.Second)
		return 0, 0, 0, err
	}
	up := upRe.FindStringSubmatch(line)
	total, _ := time.ParseDuration(up[3])
	if up[1] != up[2] || total <= 0 {
		p.stop(5 * time.Second)
		return 0, 0, 0, fmt.Errorf("pptpc: %s\n%s", line, tail(p.out.String(), 10))
	}
	line, err = p.wait(ctx, "set-up time:", 10*time.Second)
	if err != nil {
		return 0, 0, 0, err
	}
	st := setupRe.FindStringSubmatch(line)
	if st == nil {
		return 0, 0, 0, fmt.Errorf("pptpc: %q", line)
	}
	d50, _ := time.ParseDuration(st[1])
	d99, _ := time.ParseDuration(st[2])
	if st[2] == "" {
		d99, _ = time.ParseDuration(st[3])
	}
	if err := p.exited(2 * time.Minute); err != nil {
		return 0, 0, 0, err
	}
	if _, err := n.waitSessions(ctx, time.Minute, func(k int) bool { return k == 0 }); err != nil {
		return 0, 0, 0, err
	}
	return float64(sessions) / total.Seconds(), ms(d50), ms(d99), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// logins runs rounds of loginRound and keeps the median round (by rate).
func logins(ctx context.Context, n *netBench, sessions, rounds int) (perSec, p50, p99 float64, err error) {
	type r struct{ rate, p50, p99 float64 }
	var rs []r
	for range rounds {
		rate, a, b, err := loginRound(ctx, n, sessions)
		if err != nil {
			return 0, 0, 0, err
		}
		rs = append(rs, r{rate, a, b})
	}
	// Median by rate.
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[j].rate < rs[i].rate {
				rs[i], rs[j] = rs[j], rs[i]
			}
		}
	}
	m := rs[len(rs)/2]
	return m.rate, m.p50, m.p99, nil
}

// rowLogins is (4): logins per second through the whole stack (TCP
// control, GRE, LCP, MS-CHAPv2, CCP, IPCP), local users and through a
// real FreeRADIUS (started as the tests start it, in boxd's namespace).
func (b *bench) rowLogins() (Row, error) {
	row := Row{ID: 4, Name: "logins/s (pptpc -sessions N at once), local and FreeRADIUS", Goal: "≥ 3000/s local, ≥ 500/s RADIUS, p99 < 1 s"}
	n, err := b.sharedNet()
	if err != nil {
		return row, err
	}
	rate, p50, p99, err := logins(b.ctx, n, b.opts.Logins, b.opts.Rounds)
	if err != nil {
		return row, fmt.Errorf("local: %w", err)
	}
	b.rep.LoginsPerSecondLocal, b.rep.LoginP50Ms, b.rep.LoginP99Ms = ptr(rate), ptr(p50), ptr(p99)
	row.Result = fmt.Sprintf("local %.0f/s (%d at once, p50 %.0f p99 %.0f ms)", rate, b.opts.Logins, p50, p99)
	ok := rate >= 3000 && p99 < 1000

	rr, rp50, rp99, err := b.radiusLogins()
	if err != nil {
		row.Result += "; RADIUS failed: " + firstLine(err.Error())
		row.Met = met(false)
		return row, nil
	}
	b.rep.LoginsPerSecondRadius, b.rep.LoginRadiusP50Ms, b.rep.LoginRadiusP99Ms = ptr(rr), ptr(rp50), ptr(rp99)
	row.Result += fmt.Sprintf("; FreeRADIUS %.0f/s (%d at once, p50 %.0f p99 %.0f ms)", rr, b.opts.LoginsRADIUS, rp50, rp99)
	row.Met = met(ok && rr >= 500 && rp99 < 1000)
	return row, nil
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// radiusLogins starts FreeRADIUS and a boxd authenticating through it.
func (b *bench) radiusLogins() (rate, p50, p99 float64, err error) {
	dir := mkdir(b.dir, "radius")
	n, err := startNet(b.ctx, b.bins, dir, func(n *netBench) (string, error) {
		var fr *radiustest.Server
		cleanup, err := runTB(dir, func(t testing.TB) {
			fr = radiustest.Start(t, radiustest.Options{AuthPort: 18120, AcctPort: 18130, Threaded: true,
				Users:   benchUser + "\tCleartext-Password := \"" + benchPassword + "\"\n",
				Command: func(name string, args ...string) *exec.Cmd { return n.srv.Command(context.Background(), name, args...) }})
		})
		n.cleanup = append(n.cleanup, cleanup)
		if err != nil {
			return "", err
		}
		return boxConfig(fmt.Sprintf(`
[radius]
timeout = "5s"
retries = 1

[[radius.server]]
address = %q
secret = %q
acct_port = 18130
`, fr.AuthAddr(), fr.Secret)), nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	defer n.Close()
	return logins(b.ctx, n, b.opts.LoginsRADIUS, max(1, b.opts.Rounds-1))
}

// rowIdle is (5): opts.Idle idle sessions, opened by IdleSteps pptpc
// processes one after another (boxd's memory sampled after each), held,
// then all hung up at once. A fresh boxd: the other rows' buffers are
// not in its heap.
func (b *bench) rowIdle() (Row, error) {
	row := Row{ID: 5, Name: fmt.Sprintf("%d idle sessions held", b.opts.Idle), Goal: "≤ 20 KiB per session"}
	n, err := startNet(b.ctx, b.bins, mkdir(b.dir, "idle"), func(*netBench) (string, error) { return boxConfig(""), nil })
	if err != nil {
		return row, err
	}
	defer n.Close()
	time.Sleep(time.Second)
	sample := func(sessions int) (IdlePoint, error) {
		rss, pss, err := memory(n.boxd.PID())
		if err != nil {
			return IdlePoint{}, err
		}
		st, err := n.boxd.Stats(b.ctx)
		if err != nil {
			return IdlePoint{}, err
		}
		return IdlePoint{Sessions: sessions, RSSBytes: rss, PssBytes: pss, Goroutines: st.Goroutines}, nil
	}
	p0, err := sample(0)
	if err != nil {
		return row, err
	}
	series := []IdlePoint{p0}
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop(30 * time.Second)
		}
	}()
	var upTime time.Duration
	held := 0
	for i := range b.opts.IdleSteps {
		k := b.opts.Idle / b.opts.IdleSteps
		if i == b.opts.IdleSteps-1 {
			k = b.opts.Idle - held
		}
		p, err := n.pptpc(b.ctx, "-sessions", strconv.Itoa(k), "-hold", "24h")
		if err != nil {
			return row, err
		}
		procs = append(procs, p)
		line, err := p.wait(b.ctx, "sessions up:", 5*time.Minute)
		if err != nil {
			return row, err
		}
		up := upRe.FindStringSubmatch(line)
		d, _ := time.ParseDuration(up[3])
		upTime += d
		if up[1] != up[2] {
			row.Result = fmt.Sprintf("stopped at %d sessions: step %d: %s; ", held, i+1, line)
			break
		}
		held += k
		if _, err := n.waitSessions(b.ctx, time.Minute, func(s int) bool { return s == held }); err != nil {
			return row, err
		}
		time.Sleep(2 * time.Second) // idle: the logins' garbage collected
		pt, err := sample(held)
		if err != nil {
			return row, err
		}
		series = append(series, pt)
	}
	last := series[len(series)-1]
	if held == 0 {
		return row, fmt.Errorf("no session came up")
	}
	t0 := time.Now()
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGINT)
	}
	if _, err := n.waitSessions(b.ctx, 5*time.Minute, func(s int) bool { return s == 0 }); err != nil {
		return row, err
	}
	down := time.Since(t0)
	for _, p := range procs {
		p.exited(time.Minute)
	}
	procs = nil
	perRSS := float64(last.RSSBytes-p0.RSSBytes) / float64(held)
	perPss := float64(last.PssBytes-p0.PssBytes) / float64(held)
	perG := float64(last.Goroutines-p0.Goroutines) / float64(held)
	b.rep.IdleSessions = ptr(held)
	b.rep.RSSPerSessionBytes, b.rep.PssPerSessionBytes, b.rep.GoroutinesPerSession = ptr(perRSS), ptr(perPss), ptr(perG)
	b.rep.IdleUpSeconds, b.rep.IdleDownSeconds = ptr(upTime.Seconds()), ptr(down.Seconds())
	b.rep.IdleSeries = series
	row.Met = met(perRSS <= 20*1024 && held == b.opts.Idle)
	row.Result += fmt.Sprintf("%d up in %.1f s (%d batches), down in %.1f s; RSS %.1f KiB/session (Pss %.1f), %.2f goroutines/session; boxd RSS %.0f → %.0f MB",
		held, upTime.Seconds(), b.opts.IdleSteps, down.Seconds(), perRSS/1024, perPss/1024, perG, float64(p0.RSSBytes)/1e6, float64(last.RSSBytes)/1e6)
	return row, nil
}
