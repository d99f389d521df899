// Command bench is `make bench` (issue 13): the rows of the speed and
// scale table measured in one run on this machine, written to
// out/bench.json, printed as a table, and plotted (docs/bench.md explains
// every row and its method).
//
//	bench -boxd out/bench/boxd -pptpc out/bench/pptpc [-out out/bench.json] [-svg out/bench.svg] [-rows 1,2,3]
//	bench -plot out/bench.json -svg docs/bench.svg      the picture of an earlier run
//
// BENCH_QUICK=1 makes every row small (a minute, for trying the harness);
// BENCH_QEMU=0 leaves out row 7 (QEMU guests, minutes). It needs root
// (network namespaces) and runs from the repository (go test for rows 1
// and 6).
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bins Binaries
	fs.StringVar(&bins.Boxd, "boxd", "", "boxd binary")
	fs.StringVar(&bins.PPTPC, "pptpc", "", "pptpc binary")
	out := fs.String("out", "out/bench.json", "where the report goes")
	svg := fs.String("svg", "out/bench.svg", "where the plot of rows 3 and 5 goes")
	md := fs.String("md", "out/bench.md", "where the table goes as Markdown (for the README)")
	rows := fs.String("rows", "1,2,3,4,5,6,7", "rows to run")
	plot := fs.String("plot", "", "only plot this earlier report into -svg")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *plot != "" {
		var r Report
		b, err := os.ReadFile(*plot)
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", *plot, err)
		}
		return os.WriteFile(*svg, []byte(Plot(&r)), 0o644)
	}
	if bins.Boxd == "" || bins.PPTPC == "" {
		return errors.New("-boxd and -pptpc are required")
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces)")
	}
	for _, p := range []*string{&bins.Boxd, &bins.PPTPC, out, svg, md} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	root, err := vmtest.RepoRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	opts := defaultOptions(os.Getenv("BENCH_QUICK") == "1")
	if os.Getenv("BENCH_QEMU") == "0" {
		opts.QEMU = false
	}
	if v := os.Getenv("BENCH_IDLE"); v != "" {
		if opts.Idle, err = strconv.Atoi(v); err != nil || opts.Idle < opts.IdleSteps {
			return fmt.Errorf("BENCH_IDLE=%q: want a number of sessions", v)
		}
	}
	want := map[int]bool{}
	for _, f := range strings.Split(*rows, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || id < 1 || id > 7 {
			return fmt.Errorf("-rows %q: want numbers 1..7", *rows)
		}
		want[id] = true
	}
	scratch := filepath.Join(filepath.Dir(*out), "bench-run")
	os.RemoveAll(scratch)
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	testing.Init()
	rep := &Report{Machine: machine()}
	rep.Machine.Commit = gitCommit()
	b := &bench{ctx: ctx, bins: bins, dir: scratch, cores: runtime.NumCPU(), opts: opts, rep: rep}
	defer func() {
		if b.shared != nil {
			b.shared.Close()
		}
	}()
	all := []struct {
		id  int
		run func() (Row, error)
	}{
		{1, b.rowCrypto}, {6, b.rowAllocs}, {2, b.rowSingle}, {3, b.rowParallel}, {4, b.rowLogins},
		{5, b.rowIdle}, {7, b.rowQEMU},
	}
	start := time.Now()
	var unlockNetns func()
	for _, r := range all {
		if !want[r.id] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if r.id >= 2 && r.id <= 5 && unlockNetns == nil {
			// The namespace rows load the whole machine: they wait for
			// (and then keep out) the other namespace tests, as those
			// take the same lock.
			fmt.Fprintf(stderr, "bench: waiting for %s\n", netnsLock)
			if unlockNetns, err = lockFile(ctx, netnsLock); err != nil {
				return err
			}
			defer func() { unlockNetns() }()
		}
		if (r.id == 5 || r.id == 7) && b.shared != nil {
			b.shared.Close() // rows 2-4's boxd: not beside the idle row's or the guests
			b.shared = nil
		}
		if r.id == 7 && unlockNetns != nil {
			unlockNetns()
			unlockNetns = func() {}
		}
		if r.id == 7 && opts.QEMU {
			// Not counted in the row's time: other QEMU tests may hold it for minutes.
			fmt.Fprintf(stderr, "bench: waiting for %s\n", qemuLock)
			unlock, err := lockFile(ctx, qemuLock)
			if err != nil {
				return err
			}
			defer unlock()
		}
		fmt.Fprintf(stderr, "bench: row %d ...\n", r.id)
		t0 := time.Now()
		row, err := r.run()
		row.ID = r.id
		row.Seconds = time.Since(t0).Seconds()
		var skip errSkip
		if errors.As(err, &skip) {
			row.Skipped, row.Met = string(skip), nil
		} else if err != nil {
			row.Skipped, row.Met = "failed: "+firstLine(err.Error()), nil
			fmt.Fprintf(stderr, "bench: row %d failed: %v\n", r.id, err)
		}
		fmt.Fprintf(stderr, "bench: row %d (%.0fs): %s\n", r.id, row.Seconds, cmp.Or(row.Skipped, row.Result))
		rep.Rows = append(rep.Rows, row)
		slices.SortFunc(rep.Rows, func(a, b Row) int { return a.ID - b.ID })
		if err := rep.WriteJSON(*out); err != nil {
			return err
		}
	}
	if b.shared != nil {
		b.shared.Close()
		b.shared = nil
	}
	rep.Table(stdout)
	fmt.Fprintf(stdout, "total %s; %s, %s, %s\n", time.Since(start).Round(time.Second), *out, *svg, *md)
	var mdb strings.Builder
	rep.Markdown(&mdb)
	if err := os.WriteFile(*md, []byte(mdb.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(*svg, []byte(Plot(rep)), 0o644); err != nil {
		return err
	}
	return ctx.Err()
}

// netnsLock is the lock the namespace tests of this repository take
// around heavy runs (flock), so that they do not measure each other.
const netnsLock = "/tmp/pptpbox-netns.lock"

func mkdir(parent, name string) string {
	d := filepath.Join(parent, name)
	os.MkdirAll(d, 0o755)
	return d
}
