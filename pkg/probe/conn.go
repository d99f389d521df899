package probe

import (
	"context"
	"net/netip"
	"time"
)

// Conn sends ICMPv4 echo requests and reads ICMPv4 messages.
type Conn interface {
	// Send sends the ICMP message b to dst with IP TTL ttl (0: the
	// system's default).
	Send(b []byte, dst netip.Addr, ttl int) error
	// Recv reads one ICMP message into b (IP header stripped) until
	// deadline: its length, where it came from and the TTL it arrived
	// with (-1 if unknown). A passed deadline is an error for which
	// os.IsTimeout is true.
	Recv(b []byte, deadline time.Time) (n int, src netip.Addr, ttl int, err error)
	Close() error
}

// ctxErr is ctx.Err(), or context.DeadlineExceeded as soon as ctx's
// deadline has passed: a read that timed out at that deadline may see it
// before ctx's own timer has fired.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// Line is one line of output; Last marks the final one.
type Line struct {
	Text string
	Last bool
}
