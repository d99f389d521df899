package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/clock/ntptest"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/remotelog"
)

// syslogReceiver is a syslog server on loopback: it parses every datagram
// as RFC 5424 and hands the messages over.
func syslogReceiver(t *testing.T) (addr string, msgs <-chan remotelog.Message) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan remotelog.Message, 256)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			m, err := remotelog.Parse(buf[:n])
			if err != nil {
				t.Errorf("syslog receiver: %v: %q", err, buf[:n])
				continue
			}
			select {
			case ch <- m:
			default:
			}
		}
	}()
	return c.LocalAddr().String(), ch
}

// boxd as a whole: [time] pointing at an SNTP server on loopback (an hour
// ahead), [log] syslog at a receiver on loopback. show system reports the
// clock synced (measured only: no -set-clock, the test host's clock is
// left alone), the receiver sees boxd's lines as RFC 5424 with their
// attributes, and show log previous reads the file -log-previous names.
func TestBoxdClockSyslogAndPreviousLog(t *testing.T) {
	ntp, err := ntptest.Start(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer ntp.Close()
	slAddr, msgs := syslogReceiver(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "pptpbox.toml")
	cfgText := fmt.Sprintf("[log]\nlevel = \"info\"\nsyslog = %q\n[pptp]\nenabled = false\n[time]\nenabled = true\nservers = [%q]\n", slAddr, ntp.Addr())
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	prev := filepath.Join(dir, "log", "previous.log")
	sock := filepath.Join(dir, "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", cfgPath, "-control", sock, "-log-previous", prev}, os.Stdout, os.Stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("boxd: %v", err)
		}
	}()
	c := control.NewClient(sock)
	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()

	var sys control.System
	for {
		sys, err = c.System(tctx)
		if err == nil && sys.Clock != nil && sys.Clock.Synced {
			break
		}
		if tctx.Err() != nil {
			t.Fatalf("show system never reported the clock synced: %+v %v (clock %+v)", sys, err, sys.Clock)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ck := sys.Clock
	if ck.Server != ntp.Addr() || ck.Stratum != 2 || ck.SetsClock || ck.Action != "measured" || ck.Steps != 0 ||
		(ck.Offset-time.Hour).Abs() > 500*time.Millisecond || !slices.Equal(ck.Servers, []string{ntp.Addr()}) || ck.NextPoll.IsZero() {
		t.Errorf("clock %+v", ck)
	}
	if d := time.Since(sys.Time).Abs(); d > 5*time.Second {
		t.Errorf("the test host's clock moved, or show system's time is off by %v", d)
	}

	// The syslog receiver: boxd's start line, and the clock's with its
	// attributes as structured data.
	want := map[string]bool{"boxd starting": false, "clock: synced": false}
	deadline := time.After(10 * time.Second)
	for slices.Contains(mapValues(want), false) {
		select {
		case m := <-msgs:
			if _, ok := want[m.Text]; !ok {
				continue
			}
			want[m.Text] = true
			if m.AppName != "boxd" || m.Priority != 3*8+6 || m.Timestamp.IsZero() || m.ProcID != fmt.Sprint(os.Getpid()) {
				t.Errorf("header of %q: %+v", m.Text, m)
			}
			if m.Text == "clock: synced" && !slices.Contains(m.Params, remotelog.Param{Name: "server", Value: ntp.Addr()}) {
				t.Errorf("clock line without its server: %+v", m.Params)
			}
		case <-deadline:
			t.Fatalf("syslog receiver saw %v", want)
		}
	}
	if sys, _ := c.System(tctx); sys.Syslog == nil || sys.Syslog.Server != slAddr || sys.Syslog.Sent == 0 {
		t.Errorf("show system syslog: %+v", sys.Syslog)
	}

	// show log previous: nothing saved yet, then what the init saved.
	if _, err := c.LogPrevious(tctx); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("log previous before a save: %v, want not_found", err)
	}
	if err := os.MkdirAll(filepath.Dir(prev), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prev, []byte("pptpbox init version=1\nboxd: level=INFO msg=\"pptp server ready\"\npptpbox: reboot\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := c.LogPrevious(tctx)
	if err != nil || p.File != prev || len(p.Lines) != 3 || p.Lines[2] != "pptpbox: reboot" || p.Saved.IsZero() {
		t.Errorf("log previous: %+v %v", p, err)
	}
}

func mapValues(m map[string]bool) []bool {
	var out []bool
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestLogPreviousWithoutPath(t *testing.T) {
	_, err := boxAPI{&box{}}.LogPrevious(context.Background())
	if control.CodeOf(err) != control.CodeUnavailable || !strings.Contains(err.Error(), "-log-previous") {
		t.Errorf("%v, want unavailable naming -log-previous", err)
	}
}
