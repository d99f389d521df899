//go:build linux

// Package flood is the attacker of the abuse tests (issue 14): floods of
// TCP 1723 with idle connections, connections that stop in the middle of a
// Start-Control-Connection-Request, half-open connections, and re-armed
// Outgoing-Call-Request floods that never log in. A flood runs in its own
// process inside the attacker's network namespace (sockets belong to the
// namespace of the thread that opens them; a process in the namespace has
// no such catch): the test re-runs its own binary with Env set, and the
// package's helper test calls Helper.
package flood

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// Env carries the Spec (JSON) to the helper process.
const Env = "PPTPBOX_ABUSE_FLOOD"

// Spec is one flood.
type Spec struct {
	Mode    string   // idle, halfopen, calls
	Src     []string // source addresses, used in turn by the workers
	Workers int      // halfopen: the number of SYNs
	Target  string   // host:port
	For     time.Duration
	Pause   time.Duration // idle: between connections of one worker
}

// Result is what a flood did.
type Result struct {
	Conns            int64 // TCP connections made (halfopen: SYNs sent)
	DialErrors       int64 // mostly resets while connect completed: refused at once
	Refused          int64 // closed by the server at once
	Held             int64 // closed by the server after a while (start_timeout)
	CallsConnected   int64
	CallsDoNotAccept int64 // result 7: max_calls_per_connection
	CallsNoResource  int64 // result 2, error 4: the pre-auth budget, max_sessions
	CallsOther       int64
}

// Args is the environment entry and the arguments that run spec in a
// helper process: the current test binary, running only helperTest.
func Args(spec Spec, helperTest string) []string {
	b, _ := json.Marshal(spec)
	return []string{"env", Env + "=" + string(b), os.Args[0], "-test.run=^" + helperTest + "$", "-test.v"}
}

// ParseResult reads the result line the helper prints ("FLOOD {...}").
func ParseResult(line string) (Result, error) {
	var r Result
	i := strings.Index(line, "FLOOD ")
	if i < 0 {
		return r, fmt.Errorf("flood: no result in %q", line)
	}
	return r, json.Unmarshal([]byte(line[i+6:]), &r)
}

// Helper runs the flood of Env and prints its result; without Env it skips
// t (it is the helper process of a test, not a test).
func Helper(t testing.TB) {
	spec := os.Getenv(Env)
	if spec == "" {
		t.Skip("helper process of an abuse test")
	}
	var f Spec
	if err := json.Unmarshal([]byte(spec), &f); err != nil {
		t.Fatal(err)
	}
	r, err := Run(f)
	if err != nil {
		t.Logf("flood: %v", err)
	}
	out, _ := json.Marshal(r)
	fmt.Printf("FLOOD %s\n", out)
}

// Run runs spec in the current network namespace until spec.For has passed.
func Run(f Spec) (Result, error) {
	var r Result
	var mu sync.Mutex
	add := func(fn func(*Result)) { mu.Lock(); fn(&r); mu.Unlock() }
	end := time.Now().Add(f.For)
	var wg sync.WaitGroup
	var err error
	switch f.Mode {
	case "idle":
		for i := range f.Workers {
			wg.Add(1)
			go func() { defer wg.Done(); idle(f, f.Src[i%len(f.Src)], i%2 == 1, end, add) }()
		}
	case "halfopen":
		var fds []int
		fds, err = halfOpen(f, end)
		add(func(r *Result) { r.Conns = int64(len(fds)) })
		time.Sleep(time.Until(end))
		for _, fd := range fds {
			unix.Close(fd)
		}
	case "calls":
		for i := range f.Workers {
			wg.Add(1)
			go func() { defer wg.Done(); calls(f, f.Src[i%len(f.Src)], end, add) }()
		}
	default:
		return r, fmt.Errorf("flood: mode %q", f.Mode)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return r, err
}

// idle connects from src again and again and sends nothing (or, with
// partial, the first 6 bytes of a Start-Control-Connection-Request), then
// waits for the server to close the connection: at once when a cap
// refuses it, after start_timeout when it was admitted.
func idle(f Spec, src string, partial bool, end time.Time, add func(func(*Result))) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	buf := make([]byte, 64)
	for time.Now().Before(end) {
		nc, err := d.Dial("tcp4", f.Target)
		if err != nil {
			add(func(r *Result) { r.Conns++; r.DialErrors++ })
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if partial {
			nc.Write([]byte{0x00, 0x9c, 0x00, 0x01, 0x1a, 0x2b})
		}
		nc.SetReadDeadline(end)
		t0 := time.Now()
		_, err = nc.Read(buf)
		held := time.Since(t0) > 500*time.Millisecond
		nc.Close()
		var ne net.Error
		timedOut := errors.As(err, &ne) && ne.Timeout()
		add(func(r *Result) {
			r.Conns++
			switch {
			case timedOut:
			case held:
				r.Held++
			default:
				r.Refused++
			}
		})
		time.Sleep(f.Pause)
	}
}

// halfOpen sends f.Workers SYNs from src (non-blocking connects whose
// SYN-ACKs the namespace's nft rule drops) and returns their sockets.
func halfOpen(f Spec, end time.Time) ([]int, error) {
	dst, err := net.ResolveTCPAddr("tcp4", f.Target)
	if err != nil {
		return nil, err
	}
	var sa unix.SockaddrInet4
	copy(sa.Addr[:], dst.IP.To4())
	sa.Port = dst.Port
	var src unix.SockaddrInet4
	copy(src.Addr[:], net.ParseIP(f.Src[0]).To4())
	var fds []int
	for range f.Workers {
		if time.Now().After(end) {
			break
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fds, err
		}
		if err := unix.Bind(fd, &src); err != nil {
			unix.Close(fd)
			return fds, err
		}
		if err := unix.Connect(fd, &sa); err != nil && err != unix.EINPROGRESS {
			unix.Close(fd)
			return fds, err
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// calls opens control connections from src and places Outgoing-Call-
// Requests on them, 20 a second each, and never sends GRE: the calls that
// connect sit in LCP until login_timeout ends them, then the flood places
// new ones (re-armed).
func calls(f Spec, src string, end time.Time, add func(func(*Result))) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var id atomic.Uint32
	for time.Now().Before(end) {
		nc, err := d.Dial("tcp4", f.Target)
		if err != nil {
			add(func(r *Result) { r.DialErrors++ })
			time.Sleep(50 * time.Millisecond)
			continue
		}
		add(func(r *Result) { r.Conns++ })
		c := pptp.NewClientConn(nc, pptp.Config{}, nil, log)
		go c.Serve(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = c.Start(ctx)
		cancel()
		for err == nil && time.Now().Before(end) && c.State() == pptp.StateEstablished {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			rep, cerr := c.OutgoingCall(ctx, uint16(id.Add(1)))
			cancel()
			add(func(r *Result) {
				switch {
				case cerr == nil:
					r.CallsConnected++
				case rep != nil && rep.Result == pptp.OutgoingDoNotAccept:
					r.CallsDoNotAccept++
				case rep != nil && rep.Result == pptp.OutgoingGeneralError && rep.Error == pptp.ErrorNoResource:
					r.CallsNoResource++
				default:
					r.CallsOther++
				}
			})
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}
