// Command pptpc is a PPTP client in Go (pkg/client): MS-CHAPv2 and MPPE over
// a raw GRE socket, no kernel PPP needed.
//
//	pptpc -server 192.0.2.1 -user alice -password secret            dial, bring up a TUN with the address
//	pptpc -server 192.0.2.1 -user alice -password secret -sessions 200 -hold 10s
//	                                                                 load: N sessions at once, report, hang up
//	pptpc ... -sessions 1000 -abort 0.5                              load where half the logins vanish at a random point
//	pptpc ... -sessions 16 -traffic 198.18.0.1:9                      traffic: pre-encrypted UDP from each session (traffic.go)
//	pptpc ... -sessions 6000 -concurrency 500                        load with at most 500 logins in flight (logins/s, p99)
//
// It needs root (raw socket, TUN).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pptpc:", err)
		os.Exit(1)
	}
}

type options struct {
	server, user, password, tunName, mppe string
	sessions, concurrency                 int
	hold                                  time.Duration
	debug                                 bool
	abort, abortSilent                    float64
	seed                                  uint64
	cpuProfile                            string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("pptpc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.server, "server", "", "server address (host or host:port)")
	fs.StringVar(&o.user, "user", "", "user name")
	fs.StringVar(&o.password, "password", "", "password")
	fs.StringVar(&o.tunName, "tun", "pptpc0", "TUN device for the tunnel (single-session mode)")
	fs.StringVar(&o.mppe, "mppe", "require-128", "require-128, require, allow or off")
	fs.IntVar(&o.sessions, "sessions", 0, "load mode: open this many sessions at once")
	fs.IntVar(&o.concurrency, "concurrency", 0, "load mode: at most this many logins in flight at once (0: all -sessions at once)")
	fs.DurationVar(&o.hold, "hold", 5*time.Second, "load mode: how long to hold the sessions")
	fs.BoolVar(&o.debug, "debug", false, "log the PPP negotiation")
	fs.Float64Var(&o.abort, "abort", 0, "load mode: this fraction of the logins vanishes at a random point (after SCCRQ, mid-LCP, mid-auth, mid-CCP), as crashed clients do")
	fs.Float64Var(&o.abortSilent, "abort-silent", 0, "load mode: this fraction of the -abort logins falls silent instead of closing, and waits for the server to end the call")
	fs.Uint64Var(&o.seed, "seed", 0, "load mode: seed of the -abort choices (0: from the clock)")
	tr := trafficFlags(fs)
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "load mode: write a CPU profile of the run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.server == "" || o.user == "" {
		return errors.New("-server and -user are required")
	}
	if o.abort < 0 || o.abort > 1 || o.abortSilent < 0 || o.abortSilent > 1 {
		return errors.New("-abort, -abort-silent: want a fraction from 0 to 1")
	}
	if _, _, err := net.SplitHostPort(o.server); err != nil {
		o.server = net.JoinHostPort(o.server, "1723")
	}
	host, _, _ := net.SplitHostPort(o.server)
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("resolve %s: %v", host, err)
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	g, err := gre.ListenIPv4(netip.IPv4Unspecified())
	if err != nil {
		return err
	}
	mux := client.NewMux(tr.wrap(g))
	defer mux.Close()
	// An unknown -mppe value is no MPPE, as it always was.
	pol, _ := ppp.ParseMPPEPolicy(o.mppe, false, false)
	cfg := client.Config{
		Server: o.server, ServerAddr: addrs[0].Unmap(),
		User: o.user, Password: o.password,
		MPPE: pol, Logger: log,
	}
	if tr.enabled() {
		return traffic(ctx, mux, cfg, o, tr, stdout)
	}
	if o.sessions > 0 {
		return load(ctx, mux, cfg, o, stdout)
	}
	return single(ctx, mux, cfg, o, log, stdout)
}

// single dials one session and carries it on a TUN device until interrupted.
func single(ctx context.Context, mux *client.Mux, cfg client.Config, o options, log *slog.Logger, stdout io.Writer) error {
	dev, err := tun.OpenOffload(o.tunName)
	if err != nil {
		return err
	}
	defer dev.Close()
	// Packets from the server go to the device in one write per GRE
	// receive batch.
	q := tun.NewWriteQueue(dev, client.Batch, 65535)
	cfg.OnIP, cfg.Flush = q.Add, q.Flush
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := mux.Dial(dctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	info := c.Info()
	for _, f := range []func() error{
		func() error { return netcfg.AddAddr(o.tunName, netip.PrefixFrom(info.Local, 32), info.Peer) },
		func() error { return netcfg.SetMTU(o.tunName, info.PeerMRU) },
		// A read splits a super-packet into BatchSize buffers at most.
		func() error { return capGSO(o.tunName, dev) },
		// IPCP gave an IPv4 link: the kernel must not send IPv6 router
		// solicitations through it (the server would count them as malformed).
		func() error { return netcfg.DisableIPv6(o.tunName) },
		func() error { return netcfg.LinkUp(o.tunName) },
	} {
		if err := f(); err != nil {
			c.Close()
			return err
		}
	}
	fmt.Fprintf(stdout, "connected: local %s remote %s dns %s %s %s\n", info.Local, info.Peer, info.DNS[0], info.DNS[1], info.MPPE)
	go func() {
		// Encrypted in place behind the headroom, no copy.
		bufs, sizes := tun.ReadBuffers(dev, client.Headroom, max(info.PeerMRU, 1500))
		for {
			n, err := dev.Read(bufs, sizes, client.Headroom)
			if err != nil && !errors.Is(err, tun.ErrDropped) {
				return // closed
			}
			if n > 0 {
				c.WriteIPBatchAt(bufs, sizes, n, client.Headroom)
			}
		}
	}()
	select {
	case <-ctx.Done():
		log.Info("hanging up")
		return c.Close()
	case <-c.Done():
		return fmt.Errorf("link down: %s", c.Reason())
	}
}

// load opens o.sessions sessions concurrently, holds them, and reports how
// many came up and how long set-up took. With -abort a fraction of them
// gives up at a random point of the login instead (client.Abort).
func load(ctx context.Context, mux *client.Mux, cfg client.Config, o options, stdout io.Writer) error {
	cfg.Logger = slog.New(slog.DiscardHandler)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	p := planLoad(o)
	r := dialAll(ctx, mux, cfg, p, o.concurrency)
	nAborted := r.report(stdout, p)
	select {
	case <-time.After(o.hold):
	case <-ctx.Done():
	}
	var wg sync.WaitGroup
	for _, c := range r.clients {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	if len(r.clients) < p.wantUp || nAborted < p.wantAborted {
		return fmt.Errorf("%d sessions failed", p.wantUp+p.wantAborted-len(r.clients)-nAborted)
	}
	return nil
}

// loadPlan says which sessions of a load run abort, where, and whether
// silently (-abort, -abort-silent), drawn from seed.
type loadPlan struct {
	seed                            uint64
	aborts                          []client.Abort
	silent                          []bool
	wantUp, wantAborted, wantSilent int
}

func planLoad(o options) loadPlan {
	seed := o.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rnd := rand.New(rand.NewPCG(seed, 0))
	p := loadPlan{seed: seed, aborts: make([]client.Abort, o.sessions), silent: make([]bool, o.sessions)}
	for i := range p.aborts {
		if o.abort > 0 && rnd.Float64() < o.abort {
			p.aborts[i] = client.Aborts[rnd.IntN(len(client.Aborts))]
			p.wantAborted++
			if p.aborts[i] != client.AbortAfterSCCRQ && rnd.Float64() < o.abortSilent {
				p.silent[i] = true
				p.wantSilent++
			}
		} else {
			p.wantUp++
		}
	}
	return p
}

// loadResult is what the dials of a load run gave.
type loadResult struct {
	clients []*client.Client
	times   []time.Duration // set-up times of the clients, sorted
	errs    map[string]int
	aborted map[client.Abort]int
	total   time.Duration
}

// dialAll dials every session of p, at most inFlight at a time (0: all at
// once), and waits for them all.
func dialAll(ctx context.Context, mux *client.Mux, cfg client.Config, p loadPlan, inFlight int) loadResult {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
		r  = loadResult{errs: map[string]int{}, aborted: map[client.Abort]int{}}
	)
	if inFlight <= 0 {
		inFlight = len(p.aborts)
	}
	slots := make(chan struct{}, inFlight)
	start := time.Now()
	for i := 0; i < len(p.aborts); i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			t0 := time.Now()
			dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			cfg := cfg
			cfg.AbortAt = p.aborts[i]
			cfg.AbortSilent = p.silent[i]
			c, err := mux.Dial(dctx, cfg)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if cfg.AbortAt != client.AbortNone && errors.Is(err, client.ErrAborted) {
				r.aborted[cfg.AbortAt]++
				return
			}
			if err != nil {
				r.errs[err.Error()]++
				return
			}
			r.clients = append(r.clients, c)
			r.times = append(r.times, time.Since(t0))
		}()
	}
	wg.Wait()
	r.total = time.Since(start)
	sort.Slice(r.times, func(i, j int) bool { return r.times[i] < r.times[j] })
	return r
}

// report prints the run's summary and returns how many sessions aborted.
func (r loadResult) report(stdout io.Writer, p loadPlan) (nAborted int) {
	for _, v := range r.aborted {
		nAborted += v
	}
	fmt.Fprintf(stdout, "sessions up: %d of %d in %s\n", len(r.clients), p.wantUp, r.total.Round(time.Millisecond))
	if p.wantAborted > 0 {
		var each []string
		for _, a := range client.Aborts {
			each = append(each, fmt.Sprintf("%v %d", a, r.aborted[a]))
		}
		fmt.Fprintf(stdout, "aborted: %d of %d (%s; %d of them silent) seed %d\n", nAborted, p.wantAborted, strings.Join(each, ", "), p.wantSilent, p.seed)
	}
	if len(r.times) > 0 {
		fmt.Fprintf(stdout, "set-up time: p50 %s p95 %s max %s\n", r.times[len(r.times)/2].Round(time.Millisecond),
			r.times[len(r.times)*95/100].Round(time.Millisecond), r.times[len(r.times)-1].Round(time.Millisecond))
		// p99 and the rate on lines of their own: the harness parses the
		// lines above as they are.
		fmt.Fprintf(stdout, "set-up time p99: %s\n", r.times[len(r.times)*99/100].Round(time.Millisecond))
		fmt.Fprintf(stdout, "logins/s: %.0f\n", float64(len(r.times))/r.total.Seconds())
	}
	for e, n := range r.errs {
		fmt.Fprintf(stdout, "failed %d: %s\n", n, e)
	}
	return nAborted
}

// capGSO keeps the kernel's super-packets for an offloaded dev within the
// buffers of one read (netcfg.SetGSOMaxSegs); a plain device needs none.
func capGSO(name string, dev tun.Device) error {
	if !tun.Offloaded(dev) {
		return nil
	}
	return netcfg.SetGSOMaxSegs(name, dev.BatchSize())
}
