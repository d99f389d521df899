package session

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// holdGRE holds the first write after armed until release is closed,
// telling entered when it is there.
type holdGRE struct {
	gre.Conn
	once             sync.Once
	entered, release chan struct{}
}

func (g *holdGRE) WriteBatch(msgs []gre.Message) (int, error) {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.Conn.WriteBatch(msgs)
}

// TestHangupWhileStartSends: a call whose link is hung up (login timeout,
// Call-Clear-Request) while the link's Start is still handing its first
// LCP request to the wire. The Hangup's OnDown is queued and delivered by
// Start's own unlock, inside Session.start: with a sync.Once around Start,
// onDown waited for that Once forever and the session, its goroutine and
// its descriptor leaked (boxd's TestBoxdChurn found it: "sessions 1"
// 60 s after the churn). The session must go.
func TestHangupWhileStartSends(t *testing.T) {
	hold := &holdGRE{entered: make(chan struct{}), release: make(chan struct{})}
	r := newRigWrapped(t, nil, rigWrap{server: func(g gre.Conn) gre.Conn { hold.Conn = g; return hold }})
	c := pptpFrom(t, r, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rep, err := c.OutgoingCall(ctx, 1); err != nil {
		t.Fatalf("call: %+v %v", rep, err)
	}
	// No GRE from the peer: the link starts after startDelay, on the
	// timer's goroutine, and its first Configure-Request waits here.
	select {
	case <-hold.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the link never sent its first LCP request")
	}
	s := r.srv.Sessions()
	if len(s) != 1 {
		t.Fatalf("%d sessions", len(s))
	}
	r.srv.callByID(s[0].CallID).link.Hangup("hung up while starting")
	close(hold.release)
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
}
