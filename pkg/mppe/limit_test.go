package mppe

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// slowClock is a Decrypter clock on which a second passes between any two
// readings: the rekey budget is full at every packet.
func slowClock() func() time.Time {
	t := time.Unix(1e9, 0)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// statelessStream encrypts n stateless packets.
func statelessStream(t *testing.T, n int) (*Decrypter, [][]byte) {
	e, d := pair(t, 128, true)
	pkts := make([][]byte, n)
	for i := range pkts {
		pkts[i] = e.Encrypt(nil, payloadFor(i))
	}
	return d, pkts
}

// A stateless count more than MaxJump ahead is dropped and counted, and
// the key chain steps MaxJump towards it: the stream is followed again a
// few packets later, and the late packets among the counts stepped over
// still decrypt. Losses within MaxJump, across the 4096 wrap, decrypt.
func TestStatelessFarJump(t *testing.T) {
	d, pkts := statelessStream(t, 3*4096)
	d.now = slowClock()
	var c Counters
	d.CountInto(&c)
	expect := func(i int, want error) {
		t.Helper()
		out, err := d.Decrypt(nil, pkts[i])
		if !errors.Is(err, want) {
			t.Fatalf("packet %d (count %d, last %d): err %v, want %v", i, i%4096, d.last, err, want)
		}
		if err == nil && !bytes.Equal(out, payloadFor(i)) {
			t.Fatalf("packet %d: got %q", i, out)
		}
	}
	expect(0, nil)
	// Normal loss: every jump up to MaxJump, through two wraps.
	i := 0
	for jump := 1; i+jump < 2*4096+100; jump = jump%MaxJump + 1 {
		i += jump
		expect(i, nil)
	}
	if n := c.FarJumps.Load(); n != 0 {
		t.Fatalf("%d far jumps counted on normal loss", n)
	}
	// The attack: 2,047 ahead. Dropped, counted, and the peer's
	// later packets are followed after ceil(2047/MaxJump)-1 more drops.
	base := i
	far := base + 2047
	expect(far, ErrFarJump)
	if got, want := (d.last-uint16(base))&countMask, uint16(MaxJump); got != want {
		t.Fatalf("stepped %d counts towards the far packet, want %d", got, want)
	}
	drops := 1
	for k := far + 1; ; k++ {
		out, err := d.Decrypt(nil, pkts[k])
		if err == nil {
			if !bytes.Equal(out, payloadFor(k)) {
				t.Fatalf("packet %d: got %q", k, out)
			}
			break
		}
		if !errors.Is(err, ErrFarJump) {
			t.Fatalf("packet %d: %v", k, err)
		}
		drops++
	}
	if want := (2047 + MaxJump - 1) / MaxJump; drops > want {
		t.Errorf("%d packets dropped catching up on a 2047 jump, want at most %d", drops, want)
	}
	if n := c.FarJumps.Load(); n != uint64(drops) {
		t.Errorf("far jumps counted %d, dropped %d", n, drops)
	}
	// The far packet itself, now inside the window, was never decrypted.
	expect(far, nil)
	expect(far, ErrReplayed)
}

// The rekey budget bounds what one session's far jumps cost: over any
// period, the key changes beyond one per packet received (refused ones
// included: their free change passes to the next) stay within RekeyBurst
// plus RekeyRate per second, whatever the peer sends; refusals are
// counted; in-order packets never need the budget; and it refills.
func TestRekeyBudget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	e, d := pair(t, 128, true)
	d.now = clk.now
	var c Counters
	d.CountInto(&c)
	junk := []byte{0x90, 0, 1, 2, 3, 4, 5}
	rekeys := 0 // key changes beyond one per packet received, as the decrypter made them
	steps := 0  // counts the decrypter advanced in all
	flood := func(n int) {
		for range n {
			count := (d.last + 2047) & countMask
			junk[0], junk[1] = FlagEncrypted|FlagFlushed|byte(count>>8), byte(count)
			before := d.last
			_, err := d.Decrypt(nil, junk)
			switch {
			case errors.Is(err, ErrFarJump):
				rekeys += int((d.last-before)&countMask) - 1
				steps += int((d.last - before) & countMask)
			case errors.Is(err, ErrRekeyLimit):
				if d.last != before {
					t.Fatal("a refused packet moved the key chain")
				}
				rekeys-- // its free change, unused
			default:
				t.Fatalf("far packet: %v", err)
			}
		}
	}
	flood(10000) // at one instant
	if rekeys > RekeyBurst {
		t.Fatalf("%d extra key changes at one instant, budget burst %d", rekeys, RekeyBurst)
	}
	if rekeys < RekeyBurst-MaxJump {
		t.Fatalf("only %d extra key changes allowed, burst %d", rekeys, RekeyBurst)
	}
	if c.RekeyLimited.Load() == 0 || c.FarJumps.Load() == 0 {
		t.Fatalf("counters %d far, %d limited", c.FarJumps.Load(), c.RekeyLimited.Load())
	}
	// Over the next second, flooding every 10 ms: a second's worth more.
	rekeys = 0
	for range 100 {
		clk.t = clk.t.Add(10 * time.Millisecond)
		flood(100)
	}
	if rekeys > RekeyRate || rekeys < RekeyRate-MaxJump {
		t.Fatalf("%d extra key changes in the next second, rate %d", rekeys, RekeyRate)
	}
	// The budget is spent; an in-order stream still decrypts (it costs
	// one change per packet, which is free). Bring the encrypter to
	// where the decrypter is first.
	for range steps {
		e.Encrypt(nil, nil)
	}
	for i := range 100 {
		out, err := d.Decrypt(nil, e.Encrypt(nil, payloadFor(i)))
		if err != nil || !bytes.Equal(out, payloadFor(i)) {
			t.Fatalf("in-order packet %d with the budget spent: %v", i, err)
		}
	}
	// One lost packet needs one extra change: refused once the last
	// tokens are gone, fine after the budget refills.
	for d.charge(1) {
	}
	d.owed = 0
	e.Encrypt(nil, nil)
	if _, err := d.Decrypt(nil, e.Encrypt(nil, payloadFor(1))); !errors.Is(err, ErrRekeyLimit) {
		t.Fatalf("loss with the budget spent: %v", err)
	}
	clk.t = clk.t.Add(time.Second)
	if out, err := d.Decrypt(nil, e.Encrypt(nil, payloadFor(2))); err != nil || !bytes.Equal(out, payloadFor(2)) {
		t.Fatalf("loss after refill: %v", err)
	}
}

// A stateless sender faster than RekeyRate packets/s that loses a packet
// with the budget spent is followed again as soon as one change's worth
// has refilled: the packets refused meanwhile pass their free changes on,
// so the lost packet's one extra change is all the budget must pay. (Were
// each refusal to raise the next packet's price, the sender would outrun
// the refill and every later packet would be dropped: the collapse make
// bench's row 3 showed under overload.)
func TestStatelessLossWithBudgetSpent(t *testing.T) {
	const rate = 8 * RekeyRate // packets/s, the clock's step per packet
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	e, d := pair(t, 128, true)
	d.now = clk.now
	var c Counters
	d.CountInto(&c)
	for d.charge(1) {
	}
	c.RekeyLimited.Store(0)
	e.Encrypt(nil, nil) // lost
	dropped := 0
	for i := range 2000 {
		clk.t = clk.t.Add(time.Second / rate)
		out, err := d.Decrypt(nil, e.Encrypt(nil, payloadFor(i)))
		switch {
		case errors.Is(err, ErrRekeyLimit):
			dropped++
		case err != nil:
			t.Fatalf("packet %d: %v", i, err)
		case !bytes.Equal(out, payloadFor(i)):
			t.Fatalf("packet %d: got %q", i, out)
		}
	}
	// One change refills in rate/RekeyRate packets' time.
	if dropped == 0 || dropped > 2*rate/RekeyRate {
		t.Fatalf("%d of 2000 packets dropped after one loss with the budget spent, want 1..%d", dropped, 2*rate/RekeyRate)
	}
	if got := c.RekeyLimited.Load(); got != uint64(dropped) {
		t.Errorf("counted %d refusals, dropped %d", got, dropped)
	}
}

// Stateful resynchronisation is bounded per packet (flag packets skipped,
// flushTries) and its extra key changes come out of the same budget: a
// peer sending nothing but far flushed packets gets RekeyBurst of them
// through at once, and normal flag packets stay free.
func TestStatefulFlushBudget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	e, d := pair(t, 128, false)
	d.now = clk.now
	var c Counters
	d.CountInto(&c)
	// Normal traffic through several flag packets costs nothing.
	for i := range 1000 {
		if _, err := d.Decrypt(nil, e.Encrypt(nil, payloadFor(i))); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	if d.budget.tat.After(clk.t) {
		t.Fatal("in-order stateful traffic spent rekey budget")
	}
	junk := []byte{0, 0, 0x21, 0x45, 0}
	accepted := 0
	for range 10000 {
		count := (d.last + 2047) & countMask
		if count&0xFF == 0xFF {
			count--
		}
		junk[0], junk[1] = FlagEncrypted|FlagFlushed|byte(count>>8), byte(count)
		_, err := d.Decrypt(nil, junk)
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, ErrRekeyLimit):
		default:
			t.Fatalf("far flushed packet: %v", err)
		}
	}
	// Each accepted one cost at least flushTries-1 extra changes.
	if max := RekeyBurst/(flushTries-1) + 1; accepted > max || accepted == 0 {
		t.Fatalf("%d far flushed packets decrypted at one instant, want 1..%d", accepted, max)
	}
	if c.RekeyLimited.Load() != uint64(10000-accepted) {
		t.Fatalf("limited %d, refused %d", c.RekeyLimited.Load(), 10000-accepted)
	}
}

// BenchmarkDecryptFarJump is the worst one packet can cost, 5 octets with
// a coherency count 2,047 ahead of the last, stateless: "uncapped" is the
// decrypter without the work bounds (every such packet followed: 2,047 key
// changes), "capped" with the jump capped and the budget kept full (MaxJump
// changes, the most one packet can cost), "flood" as a receiver sees a
// line-rate stream of them (the budget spent after the first few).
func BenchmarkDecryptFarJump(b *testing.B) {
	for _, mode := range []string{"uncapped", "capped", "flood"} {
		b.Run(mode, func(b *testing.B) {
			_, d := pair(b, 128, true)
			switch mode {
			case "uncapped":
				d.maxJump = countHalf - 1
				d.now = slowClock()
				d.burst = countHalf
			case "capped":
				d.now = slowClock()
			}
			pkt := []byte{0x90, 0, 1, 2, 3, 4, 5}
			out := make([]byte, 0, 16)
			b.ReportAllocs()
			changes, n := 0, 0
			for b.Loop() {
				count := (d.last + 2047) & countMask
				pkt[0], pkt[1] = FlagEncrypted|FlagFlushed|byte(count>>8), byte(count)
				before := d.last
				d.Decrypt(out[:0], pkt)
				changes += int((d.last - before) & countMask)
				n++
			}
			b.ReportMetric(float64(changes)/float64(n), "rekeys/op")
		})
	}
}
