package trace

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var (
	peerA = netip.MustParseAddr("192.0.2.10")
	peerB = netip.MustParseAddr("192.0.2.20")
)

func subscribe(t *testing.T, h *Hub, f Filter, buf int) *Sub {
	t.Helper()
	s, err := h.Subscribe(f, buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// drain reads what s holds now.
func drain(s *Sub) []Event {
	var out []Event
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		ev, err := s.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, ev)
	}
}

func texts(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Text)
	}
	return out
}

// login plays the lines of a login up to and after authentication.
func login(c *Call, user string) {
	c.Trace("pptp", "rcvd", "[SCCRQ]")
	c.Claim(7)
	c.Trace("lcp", "rcvd", "[LCP ConfReq id=0x1]")
	c.Trace("auth", "rcvd", "[CHAP Response id=0x2 <hidden 49 bytes>, name = \""+user+"\"]")
	c.Identify(user)
	c.Trace("ipcp", "sent", "[IPCP ConfAck id=0x3]")
}

func TestNobodyTracesNothingOpens(t *testing.T) {
	h := New()
	if h.Enabled() {
		t.Fatal("an empty hub is enabled")
	}
	if c := h.Open(peerA); c != nil {
		t.Fatal("Open with no subscriber gave a Call")
	}
	var nilHub *Hub
	if nilHub.Enabled() || nilHub.Open(peerA) != nil {
		t.Fatal("a nil hub traces")
	}
	var c *Call
	if c.Tracing() {
		t.Fatal("a nil Call is tracing")
	}
	login(c, "alice") // must not panic
	if c.User() != "" || c.Claim(1) {
		t.Fatal("a nil Call holds state")
	}
}

func TestZeroAllocsWhenNobodyTraces(t *testing.T) {
	h := New()
	// One subscriber comes and goes: the hub is back to "nobody".
	s, _ := h.Subscribe(Filter{User: "alice"}, 0)
	s.Close()
	var c *Call
	allocs := testing.AllocsPerRun(1000, func() {
		if h.Enabled() {
			panic("enabled")
		}
		c = h.Open(peerA)
		if c.Tracing() {
			c.Trace("lcp", "rcvd", "never")
		}
		c.Tracef("lcp", "rcvd", "[LCP ConfReq id=0x%x]", 1)
		c.Identify("alice")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per login when nobody traces, want 0", allocs)
	}
}

func TestUserFilterBuffersUntilIdentified(t *testing.T) {
	h := New()
	s := subscribe(t, h, Filter{User: "alice"}, 0)
	c := h.Open(peerA)
	if c == nil || !c.Tracing() {
		t.Fatal("a user tracer must open every new login (the name comes later)")
	}
	c.Trace("pptp", "rcvd", "[SCCRQ]")
	c.Claim(7)
	c.Trace("lcp", "rcvd", "[LCP ConfReq id=0x1]")
	if got := drain(s); len(got) != 0 {
		t.Fatalf("lines delivered before the user is known: %q", texts(got))
	}
	c.Identify("alice")
	c.Trace("ipcp", "sent", "[IPCP ConfAck id=0x3]")
	got := drain(s)
	want := []string{"[SCCRQ]", "[LCP ConfReq id=0x1]", "[IPCP ConfAck id=0x3]"}
	if fmt.Sprint(texts(got)) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", texts(got), want)
	}
	for i, e := range got {
		if e.User != "alice" || e.Peer != peerA {
			t.Errorf("line %d: user %q peer %v, want alice %v", i, e.User, e.Peer, peerA)
		}
	}
	if got[0].CallID != 0 || got[1].CallID != 7 || got[2].CallID != 7 {
		t.Errorf("call ids %d %d %d, want 0 7 7", got[0].CallID, got[1].CallID, got[2].CallID)
	}
}

func TestUserFilterDiscardsOtherUsers(t *testing.T) {
	h := New()
	s := subscribe(t, h, Filter{User: "alice"}, 0)
	c := h.Open(peerA)
	login(c, "bob")
	if got := drain(s); len(got) != 0 {
		t.Fatalf("bob's login reached alice's tracer: %q", texts(got))
	}
	if c.Tracing() {
		t.Fatal("a login nobody follows is still tracing: its layers would format for nothing")
	}
	if len(c.pending) != 0 {
		t.Fatal("the discarded login keeps its lines")
	}
}

func TestUserFilterDomainPrefix(t *testing.T) {
	h := New()
	s := subscribe(t, h, Filter{User: "alice"}, 0)
	login(h.Open(peerA), `CORP\alice`)
	login(h.Open(peerA), `alice2`)
	got := drain(s)
	if len(got) != 4 {
		t.Fatalf("got %q, want the 4 lines of CORP\\alice's login only", texts(got))
	}
	for _, e := range got {
		if e.User != `CORP\alice` {
			t.Fatalf("line of %q", e.User)
		}
	}
}

func TestPeerFilterMatchesFromFirstLine(t *testing.T) {
	h := New()
	s := subscribe(t, h, Filter{Peer: peerA}, 0)
	if c := h.Open(peerB); c != nil {
		t.Fatal("a login from another peer opened with only a peer tracer of A")
	}
	c := h.Open(netip.MustParseAddr("::ffff:192.0.2.10"))
	if c == nil {
		t.Fatal("the traced peer (as a v4-mapped address) did not open")
	}
	c.Trace("pptp", "rcvd", "[SCCRQ]")
	if got := drain(s); len(got) != 1 || got[0].Text != "[SCCRQ]" {
		t.Fatalf("a peer tracer waits: got %q", texts(got))
	}
	c.Identify("bob")
	c.Trace("lcp", "sent", "[LCP EchoReq]")
	got := drain(s)
	if len(got) != 1 || got[0].User != "bob" {
		t.Fatalf("after Identify: %+v", got)
	}
}

func TestSeveralTracers(t *testing.T) {
	h := New()
	alice := subscribe(t, h, Filter{User: "alice"}, 0)
	alice2 := subscribe(t, h, Filter{User: "alice"}, 0)
	bob := subscribe(t, h, Filter{User: "bob"}, 0)
	peer := subscribe(t, h, Filter{Peer: peerB}, 0)
	login(h.Open(peerA), "alice")
	login(h.Open(peerB), "bob")
	for name, tc := range map[string]struct {
		s    *Sub
		want string
	}{"alice": {alice, "alice"}, "alice2": {alice2, "alice"}, "bob": {bob, "bob"}, "peer": {peer, "bob"}} {
		got := drain(tc.s)
		if len(got) != 4 {
			t.Errorf("%s: %d lines, want 4", name, len(got))
		}
		for i, e := range got {
			// A peer tracer sees the lines before the name is known.
			if e.User != tc.want && !(name == "peer" && i < 3 && e.User == "") {
				t.Errorf("%s: got a line of %q", name, e.User)
			}
		}
	}
}

func TestSlowSubscriberDropsCounted(t *testing.T) {
	h := New()
	s := subscribe(t, h, Filter{Peer: peerA}, 4)
	c := h.Open(peerA)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			c.Tracef("lcp", "sent", "line %d", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a subscriber that does not read blocked the login")
	}
	if s.Dropped() != 6 {
		t.Fatalf("dropped %d, want 6", s.Dropped())
	}
	got := texts(drain(s))
	want := []string{"line 0", "line 1", "line 2", "line 3", "… 6 events dropped"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Lines after the gap come after the count.
	c.Trace("lcp", "sent", "line 10")
	c.Trace("lcp", "sent", "line 11")
	c.Trace("lcp", "sent", "line 12")
	c.Trace("lcp", "sent", "line 13")
	c.Trace("lcp", "sent", "line 14")
	c.Trace("lcp", "sent", "line 15")
	got = texts(drain(s))
	want = []string{"line 10", "line 11", "line 12", "line 13", "… 2 events dropped"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPendingBounded(t *testing.T) {
	h := New()
	s := subscribe(t, h, Filter{User: "alice"}, MaxPending+10)
	c := h.Open(peerA)
	for i := range MaxPending + 5 {
		c.Tracef("lcp", "rcvd", "line %d", i)
	}
	if len(c.pending) != MaxPending {
		t.Fatalf("%d lines kept, want at most %d", len(c.pending), MaxPending)
	}
	c.Identify("alice")
	got := texts(drain(s))
	if len(got) != MaxPending+1 || got[len(got)-1] != "… 5 events dropped" || got[0] != "line 0" {
		t.Fatalf("%d lines, last %q", len(got), got[len(got)-1])
	}
}

func TestUnsubscribe(t *testing.T) {
	h := New()
	s, err := h.Subscribe(Filter{Peer: peerA}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := h.Open(peerA)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
	s.Close()
	s.Close() // twice is fine
	if h.Enabled() {
		t.Fatal("the hub is enabled with no subscriber")
	}
	if c.Tracing() {
		t.Fatal("a login whose only tracer left is still tracing")
	}
	c.Trace("lcp", "rcvd", "after")
	if _, err := s.Next(context.Background()); err == nil {
		t.Fatal("Next on a closed subscriber returned a line")
	}
}

func TestFilterValid(t *testing.T) {
	h := New()
	for _, f := range []Filter{{}, {User: "a", Peer: peerA}} {
		if _, err := h.Subscribe(f, 0); err == nil {
			t.Errorf("filter %+v accepted", f)
		}
	}
	if h.Enabled() {
		t.Fatal("a refused filter subscribed")
	}
}

// TestConcurrent runs logins, subscribers coming and going, and readers at
// once (for the race detector).
func TestConcurrent(t *testing.T) {
	h := New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				f := Filter{User: fmt.Sprint("u", i%2)}
				if i%2 == 1 {
					f = Filter{Peer: peerA}
				}
				s, _ := h.Subscribe(f, 8)
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				for {
					if _, err := s.Next(ctx); err != nil {
						break
					}
				}
				cancel()
				s.Close()
			}
		}()
	}
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 300; j++ {
				login(h.Open(peerA), fmt.Sprint("u", (i+j)%3))
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if h.active.Load() != 0 {
		t.Fatalf("active %d after every subscriber left", h.active.Load())
	}
}
