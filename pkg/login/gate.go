package login

import "time"

// Gate slows down password guessing at the console: Free wrong passwords
// in a row are let through at once, then each further try waits First,
// doubling after every wrong one up to Max. A right password opens the
// gate again. The caller passes the time (the tests pass a fake clock).
type Gate struct {
	Free  int           // wrong tries without a wait (3)
	First time.Duration // the first wait (5 s)
	Max   time.Duration // the longest wait (5 min)

	fails int       // wrong tries in a row
	next  time.Time // no try before this
}

// NewGate is the console's gate: 3 free tries, then 5 s doubling up to 5 min.
func NewGate() *Gate { return &Gate{Free: 3, First: 5 * time.Second, Max: 5 * time.Minute} }

// Wait is how long until the next try is allowed (0: now).
func (g *Gate) Wait(now time.Time) time.Duration {
	if d := g.next.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Fail records a wrong password at now and returns the wait before the
// next try.
func (g *Gate) Fail(now time.Time) time.Duration {
	g.fails++
	over := g.fails - g.Free
	if over <= 0 {
		return 0
	}
	d := g.First
	for i := 1; i < over && d < g.Max; i++ {
		d *= 2
	}
	d = min(d, g.Max)
	g.next = now.Add(d)
	return d
}

// Success records a right password: the gate is open again.
func (g *Gate) Success() {
	g.fails = 0
	g.next = time.Time{}
}

// Fails is the number of wrong tries in a row.
func (g *Gate) Fails() int { return g.fails }
