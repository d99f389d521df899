package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's and /proc/stat's
// times: 100 on every Linux architecture the bench runs on.
const clockTicks = 100

// cpuSample is a moment's CPU counters: one process's own time (user +
// system) and the machine's busy time (user, nice, system, irq, softirq:
// everything but idle, iowait and a hypervisor's steal), in clock ticks.
type cpuSample struct {
	at         time.Time
	proc, busy uint64
}

// sampleCPU reads the counters of process pid and of the machine.
func sampleCPU(pid int) (cpuSample, error) {
	s := cpuSample{at: time.Now()}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	if s.proc, err = procTicks(string(st)); err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	all, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	if s.busy, err = busyTicks(string(all)); err != nil {
		return s, fmt.Errorf("/proc/stat: %w", err)
	}
	return s, nil
}

// procTicks is utime + stime of a /proc/<pid>/stat line (fields 14 and
// 15; the command name in parentheses may hold spaces).
func procTicks(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields", len(f)+2)
	}
	var t uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, err
		}
		t += v
	}
	return t, nil
}

// busyTicks is the busy time of /proc/stat's "cpu" line: user, nice,
// system, irq and softirq (not idle, iowait, steal, or guest, which user
// already counts).
func busyTicks(stat string) (uint64, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("first line %q", line)
	}
	var t uint64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system _ _ irq softirq
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, err
		}
		t += v
	}
	return t, nil
}

// cores is how many cores the process and the machine kept busy on
// average from a to b.
func (a cpuSample) cores(b cpuSample) (proc, busy float64) {
	sec := b.at.Sub(a.at).Seconds()
	if sec <= 0 {
		return 0, 0
	}
	return float64(b.proc-a.proc) / clockTicks / sec, float64(b.busy-a.busy) / clockTicks / sec
}
