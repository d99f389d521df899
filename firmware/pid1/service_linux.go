package pid1

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// service runs one daemon in its own process group, restarting it with backoff when it
// dies, with its output line-buffered into the log.
type service struct {
	name string
	argv []string
	log  io.Writer // lines of the service's stdout/stderr
	r    *reaper
	lg   *slog.Logger

	mu       sync.Mutex
	proc     *os.Process
	started  time.Time
	restarts int
	stopping bool
	gaveUp   string        // why the policy stopped restarting it ("" while it does)
	lastWhy  string        // why the last process died: its status and last line
	exited   chan struct{} // closed when the current process exits
	stopped  chan struct{} // closed when run returns
	// exits, when set, receives why each process died (not when stopped); a trial reads
	// it, and nobody needs to: sends do not block.
	exits chan exitReport
	// onGiveUp, when set, is told when the restart policy stops restarting the service.
	onGiveUp func(reason string)
	// died, when set, is called with why each process died (not when stopped), once its
	// output has been read: the init saves its log then.
	died func(why string)
}

// exitReport is one death of a service: why (its status and last line), and whether the
// restart policy gave up on it (then it is not started again).
type exitReport struct {
	why    string
	gaveUp string
}

// runOutput is what one run of the process wrote: its last line (for the reason a trial
// prints), complete once done is closed. Each run has its own, so that a run that prints
// nothing is not given an earlier run's last words.
type runOutput struct {
	last lastLine
	done chan struct{}
}

func (s *service) run() {
	defer close(s.stopped)
	policy := NewRestartPolicy()
	for {
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		ch, out, err := s.spawn()
		s.mu.Unlock()
		start := time.Now()
		var why string
		code := -1
		if err != nil {
			why = err.Error()
		} else {
			ws := <-ch
			why = describeStatus(ws)
			if ws.Exited() {
				code = ws.ExitStatus()
			}
			s.mu.Lock()
			s.proc = nil
			close(s.exited)
			stopping := s.stopping
			s.mu.Unlock()
			if stopping {
				return
			}
		}
		if out != nil {
			// The exit status can arrive before the last output line has been read
			// from the pipe: wait for the pipe's end (a grandchild holding it open
			// cannot keep us longer than a second).
			select {
			case <-out.done:
			case <-time.After(time.Second):
			}
			if l := out.last.get(); l != "" {
				why += ": " + l
			}
		}
		ran := time.Since(start)
		s.mu.Lock()
		s.lastWhy = why
		s.mu.Unlock()
		wait, giveUp := policy.Next(ran, code, why)
		if s.died != nil {
			s.died(why)
		}
		select {
		case s.exits <- exitReport{why: why, gaveUp: giveUp}:
		default:
		}
		if giveUp != "" {
			s.mu.Lock()
			s.gaveUp = giveUp
			s.mu.Unlock()
			s.lg.Error("service stopped: not restarting it", "service", s.name, "reason", giveUp, "ran", ran.Round(time.Millisecond))
			if s.onGiveUp != nil {
				s.onGiveUp(giveUp)
			}
			return
		}
		s.lg.Warn("service died, restarting", "service", s.name, "reason", why, "ran", ran.Round(time.Millisecond), "restart_in", wait)
		time.Sleep(wait)
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
	}
}

// spawn starts the process; s.mu is held. out.done is closed when its output has been read
// to the end.
func (s *service) spawn() (ch <-chan unix.WaitStatus, out *runOutput, err error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	p, ch, err := s.r.start(s.argv, &os.ProcAttr{
		Files: []*os.File{null, wr, wr},
		Env:   []string{"PATH=/bbin:/bin", "HOME=/root"},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	wr.Close()
	if err != nil {
		rd.Close()
		return nil, nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	out = &runOutput{done: make(chan struct{})}
	go func() {
		io.Copy(io.MultiWriter(s.log, &out.last), rd)
		rd.Close()
		close(out.done)
	}()
	s.proc, s.started, s.exited = p, time.Now(), make(chan struct{})
	s.lg.Info("service started", "service", s.name, "pid", p.Pid)
	return ch, out, nil
}

// status describes the service for the console.
func (s *service) status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gaveUp != "" {
		return fmt.Sprintf("%s: stopped, not restarted (restarts %d): %s; `restart` tries again", s.name, s.restarts, s.gaveUp)
	}
	if s.proc == nil {
		return fmt.Sprintf("%s: not running (restarts %d)", s.name, s.restarts)
	}
	return fmt.Sprintf("%s: running pid %d for %s (restarts %d)", s.name, s.proc.Pid, time.Since(s.started).Round(time.Second), s.restarts)
}

// stoppedWhy is why the restart policy gave up on the service ("" while it restarts).
func (s *service) stoppedWhy() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gaveUp
}

// lastExit is why the last process died ("" before one did): its exit status and last line.
func (s *service) lastExit() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastWhy
}

// running reports whether the process is up and since when.
func (s *service) running() (bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil, s.started
}

// stop sends SIGTERM to the process group (boxd then closes its sessions and sends the
// accounting stops), waits up to grace, then SIGKILLs it.
func (s *service) stop(grace time.Duration) {
	s.mu.Lock()
	s.stopping = true
	p, exited := s.proc, s.exited
	s.mu.Unlock()
	if p != nil {
		unix.Kill(-p.Pid, unix.SIGTERM)
		select {
		case <-exited:
		case <-time.After(grace):
			s.lg.Warn("service did not stop, killing", "service", s.name)
			unix.Kill(-p.Pid, unix.SIGKILL)
			<-exited
		}
	}
	select {
	case <-s.stopped:
	case <-time.After(grace):
	}
}

func (b *box) startBoxd() {
	s := &service{
		// boxd sets the clock from [time] (-set-clock: it owns the WAN) and reads the log
		// saved at the last reboot (-log-previous, savelog_linux.go); boxdArgs.
		name: "boxd", argv: b.boxdArgs(),
		log: &PrefixWriter{Prefix: "boxd: ", W: b.ring}, r: b.r, lg: b.lg,
		stopped: make(chan struct{}), exits: make(chan exitReport, 8),
		died: func(why string) { b.saveLog("boxd died: "+why, true) },
		onGiveUp: func(reason string) {
			b.printBanner("boxd stopped: " + reason + "; `status` and `log` say more, `restart` tries again")
		},
	}
	b.mu.Lock()
	b.boxdSvc = s
	b.mu.Unlock()
	go s.run()
}

// restartBoxd is the console's restart: SIGTERM to a running boxd (the service starts it
// again), or a new start of one the restart policy gave up on.
func (b *box) restartBoxd(out io.Writer) error {
	s := b.svc()
	if s.stoppedWhy() != "" {
		fmt.Fprintln(out, "boxd: starting again")
		b.startBoxd()
		return nil
	}
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("boxd is not running")
	}
	unix.Kill(-p.Pid, unix.SIGTERM)
	fmt.Fprintln(out, "boxd: restarting")
	return nil
}

// svc is the current boxd service.
func (b *box) svc() *service {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.boxdSvc
}

// dec is the current config decision.
func (b *box) dec() Decision {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.decision
}

// boxdArgs is boxd's command line: the config in /run, what show system reports, and, with
// a CONFIG partition, the config store there (console commits write it, with the rollback
// point and the pending marker beside it) and the RADIUS accounting spool (AcctSpoolDir:
// Starts and Stops no server answered yet, sent after the next boot).
func (b *box) boxdArgs() []string {
	args := []string{boxdPath, "-config", runConfig, "-board", b.boardName(), "-config-source", b.dec().Use.Source.String(),
		"-set-clock", "-log-previous", filepath.Join(b.logDir, PreviousLogName), "-firmware-status", firmwareStatus}
	if b.flashDev != "" {
		args = append(args, "-config-store", filepath.Join(flashMount, ConfigName),
			"-acct-spool", filepath.Join(flashMount, AcctSpoolDir))
	}
	return args
}
