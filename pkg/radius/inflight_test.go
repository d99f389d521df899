package radius

import (
	"context"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
	"layeh.com/radius"
)

// TestInFlightGauge: Stats.InFlight counts a request while it waits for a
// silent server and drops back to 0 when the login is cancelled (the
// link went down), which is what cmd/boxd's churn test reads.
func TestInFlightGauge(t *testing.T) {
	s := newFakeServer(t, "k", func(*radius.Packet) *radius.Packet { return nil })
	c, err := New(Config{Servers: []Server{{Auth: s.conn.LocalAddr().String(), Secret: []byte("k")}}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Authenticate(ctx, &ppp.AuthRequest{Proto: ppp.AuthPAP, User: "bob", Password: []byte("pw")})
	}()
	for s.got.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if n := c.Stats().InFlight; n != 1 {
		t.Errorf("in flight %d while the server is silent, want 1", n)
	}
	cancel()
	<-done
	if n := c.Stats().InFlight; n != 0 {
		t.Errorf("in flight %d after the cancelled login, want 0", n)
	}
}
