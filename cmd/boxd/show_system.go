package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// sysInfo is what boxd is told about the box it runs on (flags the init
// passes) and when it started.
type sysInfo struct {
	board        string // -board
	configSource string // -config-source
	setClock     bool   // -set-clock: the SNTP client sets the clock and the RTC
	logPrevious  string // -log-previous: the log the init saved
	firmware     string // -firmware-status: the init's JSON control.Firmware
	acctSpool    string // -acct-spool: unanswered accounting Starts and Stops
	started      time.Time
}

// System reports the box: /proc's uptime, load and memory, boxd's own
// uptime, RSS and goroutines, and the config it runs with. A /proc file
// that cannot be read leaves its fields zero (the rest still answers).
func (a boxAPI) System(ctx context.Context) (control.System, error) {
	b := a.b
	b.mu.Lock()
	file := b.cfg.File()
	b.mu.Unlock()
	s := control.System{
		Version:      version,
		Board:        b.sys.board,
		BoxdUptime:   time.Since(b.sys.started).Round(time.Second),
		Goroutines:   runtime.NumGoroutine(),
		ConfigFile:   file,
		ConfigSource: b.sys.configSource,
		Ports:        b.ports(),
		Time:         time.Now(),
		Clock:        b.clockState(),
		Syslog:       b.syslogState(),
	}
	if b.conf != nil {
		// The config store's (api_config.go): where commits go, a commit confirmed waiting.
		s.ConfigStore, s.Pending = b.configStore(), b.pendingCommit()
	}
	var errs []error
	var err error
	if s.Hostname, err = os.Hostname(); err != nil {
		errs = append(errs, err)
	}
	read := func(name string, parse func([]byte) error) {
		raw, err := os.ReadFile("/proc/" + name)
		if err == nil {
			err = parse(raw)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("/proc/%s: %w", name, err))
		}
	}
	read("uptime", func(b []byte) (err error) { s.Uptime, err = parseUptime(b); return err })
	read("loadavg", func(b []byte) (err error) { s.Load, err = parseLoadavg(b); return err })
	read("meminfo", func(b []byte) (err error) { s.MemTotal, s.MemAvailable, err = parseMeminfo(b); return err })
	read("self/status", func(b []byte) (err error) { s.BoxdRSS, err = parseRSS(b); return err })
	if b.sys.firmware != "" {
		if raw, err := os.ReadFile(b.sys.firmware); err == nil {
			var f control.Firmware
			if err := json.Unmarshal(raw, &f); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.sys.firmware, err))
			} else {
				s.Firmware = &f
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		b.log.Warn("show system: some figures are missing", "err", errors.Join(errs...))
	}
	return s, nil
}

// ports is the router's ports for show system and ping (nil without a
// router).
func (b *box) ports() []control.Port {
	if b.router == nil {
		return nil
	}
	var out []control.Port
	for _, p := range b.router.Ports() {
		out = append(out, control.Port{Role: p.Role, Iface: p.Iface, Present: p.Present, Since: p.Since, Off: p.Off})
	}
	return out
}

// parseUptime reads /proc/uptime: "12345.67 23456.78" (seconds up, idle).
func parseUptime(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("empty")
	}
	sec, err := strconv.ParseFloat(f[0], 64)
	if err != nil || sec < 0 || sec > 1e10 {
		return 0, fmt.Errorf("bad uptime %q", f[0])
	}
	return (time.Duration(sec * float64(time.Second))).Round(time.Second), nil
}

// parseLoadavg reads /proc/loadavg: "0.08 0.03 0.01 1/123 4567".
func parseLoadavg(b []byte) ([3]float64, error) {
	var l [3]float64
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return l, fmt.Errorf("%d fields, want at least 3", len(f))
	}
	for i := range l {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || v < 0 {
			return [3]float64{}, fmt.Errorf("bad load %q", f[i])
		}
		l[i] = v
	}
	return l, nil
}

// parseMeminfo reads MemTotal and MemAvailable (kB) from /proc/meminfo.
func parseMeminfo(b []byte) (total, avail uint64, err error) {
	var haveT, haveA bool
	total, haveT = kBField(b, "MemTotal:")
	avail, haveA = kBField(b, "MemAvailable:")
	if !haveT || !haveA {
		return 0, 0, errors.New("no MemTotal or MemAvailable")
	}
	return total, avail, nil
}

// parseRSS reads VmRSS (kB) from /proc/self/status.
func parseRSS(b []byte) (uint64, error) {
	if v, ok := kBField(b, "VmRSS:"); ok {
		return v, nil
	}
	return 0, errors.New("no VmRSS")
}

// kBField finds the line "key  1234 kB" and returns its value in bytes.
func kBField(b []byte, key string) (uint64, bool) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(key))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || v > 1<<53 {
			return 0, false
		}
		return v * 1024, true
	}
	return 0, false
}
