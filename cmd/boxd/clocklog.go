package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/clock"
	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/remotelog"
)

// The box over its life: the SNTP client ([time]), the remote syslog
// sender ([log] syslog) and the log the init saved at the last reboot
// (show log previous).

// maxPreviousLog bounds what show log previous reads (the init writes at
// most 256 KiB; a bigger file is not ours).
const maxPreviousLog = 1 << 20

// newClock makes the SNTP client for [time], nil when it is off. Only a
// boxd told -set-clock (the firmware's) sets the clock and the RTC; any
// other measures and reports.
func newClock(cfg *config.Config, sys sysInfo, log *slog.Logger) *clock.Syncer {
	if !cfg.Time.Enabled {
		return nil
	}
	cc := clock.Config{Servers: cfg.Time.Servers, Log: log}
	if sys.setClock {
		cc.Set = clock.System{}
		cc.RTC = clock.FindRTC()
	}
	return clock.New(cc)
}

// runClock runs the SNTP client until ctx ends.
func (b *box) runClock(ctx context.Context, wg *sync.WaitGroup) {
	if b.clock == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.clock.Run(ctx)
	}()
}

// withSyslog adds the remote syslog sender of [log] syslog to the log's
// handler; w is nil when there is none.
func withSyslog(h slog.Handler, cfg *config.Config, stderr io.Writer) (slog.Handler, *remotelog.Writer) {
	if cfg.Log.Syslog == "" {
		return h, nil
	}
	w, err := remotelog.Dial(cfg.Log.Syslog, "boxd")
	if err != nil {
		// Validation took an IP:port: this does not happen.
		fmt.Fprintf(stderr, "boxd: syslog %s: %v\n", cfg.Log.Syslog, err)
		return h, nil
	}
	return remotelog.NewHandler(h, w), w
}

// clockState is show system's clock.
func (b *box) clockState() *control.Clock {
	if b.clock == nil {
		return nil
	}
	st := b.clock.State()
	return &control.Clock{
		Synced: st.Synced, SetsClock: b.sys.setClock, Servers: b.clockServers, Server: st.Server, Stratum: st.Stratum,
		Offset: st.Offset, Steps: st.Steps, LastSync: st.LastSync, NextPoll: st.NextPoll, LastError: st.LastErr,
		Action: actionName(st.Action),
	}
}

func actionName(a clock.Action) string {
	if a == clock.None {
		return ""
	}
	return a.String()
}

// syslogState is show system's syslog.
func (b *box) syslogState() *control.Syslog {
	if b.syslog == nil {
		return nil
	}
	sent, dropped, last := b.syslog.Stats()
	return &control.Syslog{Server: b.syslog.Addr(), Sent: sent, Dropped: dropped, LastError: last}
}

// LogPrevious reads the log the init saved (-log-previous).
func (a boxAPI) LogPrevious(ctx context.Context) (control.PreviousLog, error) {
	p := a.b.sys.logPrevious
	if p == "" {
		return control.PreviousLog{}, control.Errorf(control.CodeUnavailable, "no saved log: this boxd was started without -log-previous (the firmware's init passes it)")
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return control.PreviousLog{}, control.Errorf(control.CodeNotFound, "no log saved yet in %s (the init saves one at reboot, poweroff and when boxd exits)", p)
	}
	if err != nil {
		return control.PreviousLog{}, control.Errorf(control.CodeInternal, "%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return control.PreviousLog{}, control.Errorf(control.CodeInternal, "%v", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPreviousLog))
	if err != nil {
		return control.PreviousLog{}, control.Errorf(control.CodeInternal, "%s: %v", p, err)
	}
	text := strings.TrimSuffix(strings.ToValidUTF8(string(data), "\uFFFD"), "\n")
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	return control.PreviousLog{File: p, Saved: fi.ModTime().UTC().Truncate(time.Second), Lines: lines}, nil
}
