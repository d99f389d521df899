package dialout

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeSession is a Session the test takes down.
type fakeSession struct {
	done   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newFakeSession() *fakeSession {
	return &fakeSession{done: make(chan struct{}), closed: make(chan struct{})}
}
func (s *fakeSession) Local() netip.Addr     { return netip.MustParseAddr("10.99.0.2") }
func (s *fakeSession) Peer() netip.Addr      { return netip.MustParseAddr("10.99.0.1") }
func (s *fakeSession) Done() <-chan struct{} { return s.done }
func (s *fakeSession) Reason() string        { return "peer gone" }
func (s *fakeSession) Close() error          { s.once.Do(func() { close(s.closed) }); return nil }

// fakeConnector answers each Connect with the next scripted result.
type fakeConnector struct{ results chan any } // *fakeSession or error

func (f *fakeConnector) Connect(ctx context.Context) (Session, error) {
	select {
	case r := <-f.results:
		if s, ok := r.(*fakeSession); ok {
			return s, nil
		}
		return nil, r.(error)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fakeClock: After hands the wanted wait to the test, which fires it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan time.Duration
	fire  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1e9, 0), waits: make(chan time.Duration), fire: make(chan time.Time)}
}
func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

// expectWait takes the next wait the Dialer asks for, checks it and the
// state, and lets it pass.
func expectWait(t *testing.T, d *Dialer, clk *fakeClock, want time.Duration, failures int) {
	t.Helper()
	select {
	case got := <-clk.waits:
		if got != want {
			t.Fatalf("wait %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no wait (want %v); status %+v", want, d.Status())
	}
	st := d.Status()
	if st.State != Backoff || st.Failures != failures || !st.NextDial.Equal(clk.Now().Add(want)) || st.LastError == "" {
		t.Fatalf("status %+v, want backoff with %d failures", st, failures)
	}
	clk.advance(want)
	clk.fire <- clk.Now()
}

func waitState(t *testing.T, d *Dialer, want State) Status {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if st := d.Status(); st.State == want {
			return st
		}
	}
	t.Fatalf("state %v, want %v", d.Status().State, want)
	return Status{}
}

func start(t *testing.T) (*Dialer, *fakeConnector, *fakeClock, context.CancelFunc, chan struct{}) {
	conn := &fakeConnector{results: make(chan any)}
	clk := newFakeClock()
	d := New(Config{Name: "hq", Connector: conn, MinBackoff: time.Second, MaxBackoff: 8 * time.Second,
		StableAfter: time.Minute, After: clk.After, Now: clk.Now})
	if st := d.Status(); st.State != Down {
		t.Fatalf("new dialer %v", st.State)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { d.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	return d, conn, clk, cancel, stopped
}

func TestBackoffDoublesToMaxAndResetsWhenStable(t *testing.T) {
	d, conn, clk, _, _ := start(t)
	for i, want := range []time.Duration{1, 2, 4, 8, 8} {
		waitState(t, d, Dialing)
		conn.results <- errors.New("connection refused")
		expectWait(t, d, clk, want*time.Second, i+1)
	}
	waitState(t, d, Dialing)
	s := newFakeSession()
	conn.results <- s
	st := waitState(t, d, Up)
	if st.Failures != 0 || st.Connects != 1 || st.Local != s.Local() || st.Peer != s.Peer() || st.LastError != "" {
		t.Fatalf("up: %+v", st)
	}
	// A session that drops at once: the wait keeps growing (capped).
	close(s.done)
	expectWait(t, d, clk, 8*time.Second, 0)
	<-s.closed // the device and routes were removed
	if st := d.Status(); st.Local.IsValid() || st.LastError != "link down: peer gone" {
		t.Fatalf("after down: %+v", st)
	}
	// A session up for StableAfter: the next wait is MinBackoff again.
	s = newFakeSession()
	conn.results <- s
	waitState(t, d, Up)
	clk.advance(time.Minute)
	close(s.done)
	expectWait(t, d, clk, time.Second, 0)
	if st := waitState(t, d, Dialing); st.Connects != 2 {
		t.Fatalf("connects %d", st.Connects)
	}
}

func TestCancelHangsUp(t *testing.T) {
	d, conn, _, cancel, stopped := start(t)
	waitState(t, d, Dialing)
	s := newFakeSession()
	conn.results <- s
	waitState(t, d, Up)
	cancel()
	<-stopped
	select {
	case <-s.closed:
	default:
		t.Fatal("session not closed")
	}
	if st := d.Status(); st.State != Down {
		t.Fatalf("state %v", st.State)
	}
}

func TestCancelWhileDialingAndInBackoff(t *testing.T) {
	d, conn, clk, cancel, stopped := start(t)
	waitState(t, d, Dialing)
	conn.results <- errors.New("timeout")
	<-clk.waits // in backoff, the wait never fires
	cancel()
	<-stopped
	if st := d.Status(); st.State != Down || st.Failures != 1 {
		t.Fatalf("status %+v", st)
	}

	d, _, _, cancel, stopped = start(t)
	waitState(t, d, Dialing)
	cancel() // Connect returns ctx's error: no backoff, down
	<-stopped
	if st := d.Status(); st.State != Down || st.Failures != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Down: "down", Dialing: "dialing", Up: "up", Backoff: "backoff", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q", int(s), s.String())
		}
	}
}
