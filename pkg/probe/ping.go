package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"
)

// PingConfig is a ping run.
type PingConfig struct {
	Target   netip.Addr
	Name     string        // what the operator typed, for the header ("" : the address)
	Count    int           // echo requests to send (0: 4)
	Interval time.Duration // between requests (0: 1s)
	Timeout  time.Duration // a request without a reply by then is lost (0: 2s)
	Size     int           // payload bytes (0: 56, as ping)
	ID       uint16        // echo identifier (0: random)
}

func (c *PingConfig) defaults() {
	if c.Count <= 0 {
		c.Count = 4
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Size <= 0 {
		c.Size = 56
	}
	for c.ID == 0 {
		c.ID = uint16(rand.Uint32())
	}
	if c.Name == "" {
		c.Name = c.Target.String()
	}
}

// PingStats is what a run ended with.
type PingStats struct {
	Sent, Received, Duplicates, Errors int
	Min, Max, Sum, SumSq               time.Duration
	Elapsed                            time.Duration
}

// Ping sends cfg.Count echo requests to cfg.Target over c, cfg.Interval
// apart, and writes a line per reply, per error from a router and per lost
// request, then the summary, to out. It ends early when ctx ends (the
// summary is still written) or out fails.
func Ping(ctx context.Context, c Conn, cfg PingConfig, out func(Line) error) (PingStats, error) {
	cfg.defaults()
	if !cfg.Target.Is4() {
		return PingStats{}, fmt.Errorf("probe: %s is not an IPv4 address", cfg.Target)
	}
	p := pinger{c: c, cfg: cfg, out: out, sent: map[uint16]time.Time{}, got: map[uint16]bool{}, buf: make([]byte, 1500)}
	if err := out(Line{Text: fmt.Sprintf("PING %s (%s) %d(%d) bytes of data.", cfg.Name, cfg.Target, cfg.Size, cfg.Size+28)}); err != nil {
		return PingStats{}, err
	}
	err := p.run(ctx)
	if err != nil && ctxErr(ctx) == nil {
		return p.st, err
	}
	lines := p.summary()
	for i, l := range lines {
		if err := out(Line{Text: l, Last: i == len(lines)-1}); err != nil {
			return p.st, err
		}
	}
	return p.st, nil
}

type pinger struct {
	c     Conn
	cfg   PingConfig
	out   func(Line) error
	st    PingStats
	start time.Time
	sent  map[uint16]time.Time // outstanding requests by seq
	got   map[uint16]bool      // answered seqs (duplicates)
	buf   []byte
}

func (p *pinger) run(ctx context.Context) error {
	payload := make([]byte, p.cfg.Size)
	for i := range payload {
		payload[i] = byte(i)
	}
	p.start = time.Now()
	defer func() { p.st.Elapsed = time.Since(p.start) }()
	next := p.start
	seq := uint16(0)
	for {
		now := time.Now()
		if err := ctxErr(ctx); err != nil {
			return err
		}
		if int(seq) < p.cfg.Count && !now.Before(next) {
			seq++
			if err := p.c.Send(EchoRequest(p.cfg.ID, seq, payload), p.cfg.Target, 0); err != nil {
				return fmt.Errorf("probe: send: %w", err)
			}
			p.sent[seq], p.st.Sent = now, p.st.Sent+1
			next = next.Add(p.cfg.Interval)
		}
		if err := p.expire(now); err != nil {
			return err
		}
		if int(seq) == p.cfg.Count && len(p.sent) == 0 {
			return nil
		}
		deadline := p.deadline(next, int(seq) < p.cfg.Count)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := p.read(deadline); err != nil {
			return err
		}
	}
}

// deadline is when the loop must look again: the next send, or the
// earliest request to give up.
func (p *pinger) deadline(next time.Time, more bool) time.Time {
	d := time.Now().Add(time.Hour)
	if more {
		d = next
	}
	for _, at := range p.sent {
		if e := at.Add(p.cfg.Timeout); e.Before(d) {
			d = e
		}
	}
	return d
}

// expire reports the requests older than the timeout as lost.
func (p *pinger) expire(now time.Time) error {
	for seq := uint16(1); int(seq) <= p.cfg.Count; seq++ {
		at, ok := p.sent[seq]
		if !ok || now.Sub(at) < p.cfg.Timeout {
			continue
		}
		delete(p.sent, seq)
		if err := p.out(Line{Text: fmt.Sprintf("no answer yet for icmp_seq=%d", seq)}); err != nil {
			return err
		}
	}
	return nil
}

// read handles the messages that arrive until deadline, or until one of
// ours came (the loop then looks whether the run is over).
func (p *pinger) read(deadline time.Time) error {
	for {
		n, src, ttl, err := p.c.Recv(p.buf, deadline)
		if err != nil {
			if os.IsTimeout(err) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("probe: receive: %w", err)
		}
		now := time.Now()
		r, err := ParseReply(p.buf[:n])
		if err != nil || r.ID != p.cfg.ID {
			continue // not ours
		}
		return p.handle(r, src, ttl, n, now)
	}
}

func (p *pinger) handle(r Reply, src netip.Addr, ttl, n int, now time.Time) error {
	if r.Kind != EchoReply {
		if r.Dst != p.cfg.Target {
			return nil
		}
		if _, out := p.sent[r.Seq]; !out {
			return nil
		}
		delete(p.sent, r.Seq)
		p.st.Errors++
		return p.out(Line{Text: fmt.Sprintf("From %s icmp_seq=%d %s", src, r.Seq, describe(r))})
	}
	if src != p.cfg.Target {
		return nil
	}
	at, out := p.sent[r.Seq]
	dup := p.got[r.Seq]
	if !out && !dup {
		return nil // a reply to a request we gave up on, or never sent
	}
	text := fmt.Sprintf("%d bytes from %s: icmp_seq=%d ttl=%d", n, src, r.Seq, ttl)
	if dup {
		p.st.Duplicates++
		return p.out(Line{Text: text + " (DUP!)"})
	}
	rtt := now.Sub(at)
	delete(p.sent, r.Seq)
	p.got[r.Seq] = true
	p.st.Received++
	if p.st.Received == 1 || rtt < p.st.Min {
		p.st.Min = rtt
	}
	p.st.Max = max(p.st.Max, rtt)
	p.st.Sum += rtt
	p.st.SumSq += time.Duration(float64(rtt) * float64(rtt) / float64(time.Millisecond))
	return p.out(Line{Text: text + " time=" + formatRTT(rtt) + " ms"})
}

// summary is ping's closing lines.
func (p *pinger) summary() []string {
	st := p.st
	loss := 0
	if st.Sent > 0 {
		loss = (st.Sent - st.Received) * 100 / st.Sent
	}
	l2 := fmt.Sprintf("%d packets transmitted, %d received", st.Sent, st.Received)
	if st.Duplicates > 0 {
		l2 += fmt.Sprintf(", +%d duplicates", st.Duplicates)
	}
	if st.Errors > 0 {
		l2 += fmt.Sprintf(", +%d errors", st.Errors)
	}
	l2 += fmt.Sprintf(", %d%% packet loss, time %dms", loss, st.Elapsed.Milliseconds())
	lines := []string{fmt.Sprintf("--- %s ping statistics ---", p.cfg.Name), l2}
	if st.Received > 0 {
		lines = append(lines, "rtt min/avg/max/mdev = "+rttSummary(st))
	}
	return lines
}

// rttSummary is "min/avg/max/mdev ms" with three decimals, mdev the
// standard deviation as iputils computes it.
func rttSummary(st PingStats) string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	n := float64(st.Received)
	avg := ms(st.Sum) / n
	mdev := math.Sqrt(math.Max(0, ms(st.SumSq)/n-avg*avg))
	return fmt.Sprintf("%.3f/%.3f/%.3f/%.3f ms", ms(st.Min), avg, ms(st.Max), mdev)
}

// formatRTT prints a round trip in milliseconds as ping does: three
// significant digits or so.
func formatRTT(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2f", ms)
	}
	return fmt.Sprintf("%.3f", ms)
}

// describe says what an ICMP error reply means, as ping prints it.
func describe(r Reply) string {
	if r.Kind == TimeExceeded {
		return "Time to live exceeded"
	}
	switch r.Code {
	case 0:
		return "Destination Net Unreachable"
	case 1:
		return "Destination Host Unreachable"
	case 2:
		return "Destination Protocol Unreachable"
	case 3:
		return "Destination Port Unreachable"
	case 4:
		return "Frag needed and DF set"
	case 9, 10, 13:
		return "Packet filtered"
	}
	return fmt.Sprintf("Destination Unreachable, code %d", r.Code)
}
