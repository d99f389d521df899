package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"
)

// TraceConfig is a traceroute run.
type TraceConfig struct {
	Target  netip.Addr
	Name    string        // what the operator typed ("": the address)
	MaxHops int           // (0: 30)
	Probes  int           // per hop (0: 3)
	Timeout time.Duration // wait for a hop's answers (0: 3s)
	ID      uint16        // echo identifier (0: random)
}

func (c *TraceConfig) defaults() {
	if c.MaxHops <= 0 {
		c.MaxHops = 30
	}
	if c.Probes <= 0 {
		c.Probes = 3
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	for c.ID == 0 {
		c.ID = uint16(rand.Uint32())
	}
	if c.Name == "" {
		c.Name = c.Target.String()
	}
}

// probePayload is the echo data of a traceroute probe: 60-byte packets,
// as traceroute's default.
const probePayload = 60 - 20 - 8

// Hop is one TTL's answers.
type Hop struct {
	TTL     int
	Answers []Answer // one per probe, in the order sent
}

// Answer is one probe's fate: From is zero when nothing came back in time.
type Answer struct {
	From netip.Addr
	RTT  time.Duration
	Kind Kind
	Code int
}

// Traceroute sends cfg.Probes echo requests with TTL 1, 2, ... up to
// cfg.MaxHops to cfg.Target over c and writes a line per hop to out, as
// traceroute does: hop, address, round trips, "*" for a probe without an
// answer. It stops at the hop where the target answers (or says it is
// unreachable), at MaxHops, or when ctx ends or out fails.
func Traceroute(ctx context.Context, c Conn, cfg TraceConfig, out func(Line) error) ([]Hop, error) {
	cfg.defaults()
	if !cfg.Target.Is4() {
		return nil, fmt.Errorf("probe: %s is not an IPv4 address", cfg.Target)
	}
	if err := out(Line{Text: fmt.Sprintf("traceroute to %s (%s), %d hops max, %d byte packets", cfg.Name, cfg.Target, cfg.MaxHops, 20+8+probePayload)}); err != nil {
		return nil, err
	}
	t := tracer{c: c, cfg: cfg, buf: make([]byte, 1500)}
	var hops []Hop
	for ttl := 1; ttl <= cfg.MaxHops; ttl++ {
		h, err := t.hop(ctx, ttl)
		if err != nil {
			return hops, err
		}
		hops = append(hops, h)
		done := h.reached(cfg.Target) || ttl == cfg.MaxHops
		if err := out(Line{Text: FormatHop(h), Last: done}); err != nil {
			return hops, err
		}
		if done {
			break
		}
	}
	return hops, nil
}

// reached: the target answered, or someone said it cannot be reached.
func (h Hop) reached(target netip.Addr) bool {
	for _, a := range h.Answers {
		if a.Kind == Unreachable || (a.Kind == EchoReply && a.From == target) {
			return true
		}
	}
	return false
}

type tracer struct {
	c   Conn
	cfg TraceConfig
	seq uint16
	buf []byte
}

// hop sends the probes of one TTL at once and collects their answers
// until all came or the timeout passes.
func (t *tracer) hop(ctx context.Context, ttl int) (Hop, error) {
	h := Hop{TTL: ttl, Answers: make([]Answer, t.cfg.Probes)}
	sent := map[uint16]int{} // seq -> probe index
	at := make([]time.Time, t.cfg.Probes)
	payload := make([]byte, probePayload)
	for i := range at {
		t.seq++
		sent[t.seq] = i
		at[i] = time.Now()
		if err := t.c.Send(EchoRequest(t.cfg.ID, t.seq, payload), t.cfg.Target, ttl); err != nil {
			return h, fmt.Errorf("probe: send ttl %d: %w", ttl, err)
		}
	}
	deadline := time.Now().Add(t.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for len(sent) > 0 {
		if err := ctxErr(ctx); err != nil {
			return h, err
		}
		n, src, _, err := t.c.Recv(t.buf, deadline)
		if err != nil {
			if os.IsTimeout(err) || errors.Is(err, os.ErrDeadlineExceeded) {
				return h, ctxErr(ctx) // the hop ends with "*" for the rest
			}
			return h, fmt.Errorf("probe: receive: %w", err)
		}
		now := time.Now()
		r, err := ParseReply(t.buf[:n])
		if err != nil || r.ID != t.cfg.ID {
			continue
		}
		if r.Kind == EchoReply && src != t.cfg.Target || r.Kind != EchoReply && r.Dst != t.cfg.Target {
			continue
		}
		i, ok := sent[r.Seq]
		if !ok {
			continue // an earlier hop's late answer, or a duplicate
		}
		delete(sent, r.Seq)
		h.Answers[i] = Answer{From: src, RTT: now.Sub(at[i]), Kind: r.Kind, Code: r.Code}
	}
	return h, nil
}

// FormatHop is a hop's line as traceroute prints it:
// " 2  10.0.2.1  0.412 ms  0.390 ms *"; an address is printed again when
// it changes within the hop, "!H", "!N", "!P", "!X" follow a round trip
// answered by an unreachable.
func FormatHop(h Hop) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%2d ", h.TTL)
	var last netip.Addr
	for _, a := range h.Answers {
		if !a.From.IsValid() {
			b.WriteString(" *")
			continue
		}
		if a.From != last {
			fmt.Fprintf(&b, " %s", a.From)
			last = a.From
		}
		fmt.Fprintf(&b, "  %s ms", formatTraceRTT(a.RTT))
		if m := unreachMark(a); m != "" {
			b.WriteString(" " + m)
		}
	}
	return b.String()
}

// formatTraceRTT is traceroute's "%.3f".
func formatTraceRTT(d time.Duration) string {
	return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))
}

// unreachMark is traceroute's note for an answer that is an unreachable
// ("" for anything else, and for port unreachable: the target itself).
func unreachMark(a Answer) string {
	if a.Kind != Unreachable {
		return ""
	}
	switch a.Code {
	case 0:
		return "!N"
	case 1:
		return "!H"
	case 2:
		return "!P"
	case 3:
		return "" // port unreachable: the target itself
	case 4:
		return "!F"
	case 9, 10, 13:
		return "!X"
	}
	return fmt.Sprintf("!<%d>", a.Code)
}
