package radius

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/pptpbox/pptpbox/pkg/aaa"
)

// The accounting queue: every Start, Interim-Update and Stop a Client
// accounts goes through one FIFO with one sender goroutine, so a session's
// records reach the server in order (Start, Interim-Updates, Stop). When
// no server answers, the head record is tried again after a backoff (1 s
// doubling up to Config.AcctRetryMax), never given up; each new try is a
// new packet with a new Identifier and Acct-Delay-Time (RFC 2866 §5.2).
//
// The queue is bounded (Config.AcctQueueMax records): when it is full, the
// oldest Interim-Update is dropped (a later Interim or the Stop carries
// newer counters); with none queued, a new Interim-Update is dropped;
// Starts and Stops are never dropped (so the queue may exceed the bound by
// them; each is a few hundred bytes).
//
// With a spool directory (Config.AcctSpool), Starts and Stops that were
// not answered at their first try are also written there (spool.go) and
// removed once answered; LoadSpool queues them again after a restart.

// acctItem is one queued accounting record.
type acctItem struct {
	st        rfc2866.AcctStatusType
	sessionID string
	local     bool
	class     [][]byte
	rec       aaa.Record
	event     time.Time // when it happened: Acct-Delay-Time, Event-Timestamp
	spool     string    // its file in the spool, "" when not written
	done      bool      // answered (or given up): out of the queue
}

// acctQueue is a Client's queue state (guarded by its mu).
type acctQueue struct {
	mu      sync.Mutex
	items   []*acctItem
	wake    chan struct{} // a new item (buffered 1)
	running bool          // the sender goroutine is running
	closing bool          // Close was called: the sender ends when empty
	drained chan struct{} // closed (and replaced) when the queue empties
	outage  bool          // the last try went unanswered
}

const (
	defaultAcctQueueMax = 10000
	defaultAcctRetryMax = 30 * time.Second
	acctRetryMin        = time.Second
)

// enqueue adds an accounting record to the queue and makes sure the
// sender runs. It never blocks on the network or the disk.
func (c *Client) enqueue(it *acctItem) {
	q := &c.aq
	q.mu.Lock()
	if len(q.items) >= c.cfg.AcctQueueMax {
		if !c.dropInterimLocked(it) {
			q.mu.Unlock()
			return
		}
	}
	q.items = append(q.items, it)
	c.acctPending.Store(int64(len(q.items)))
	if !q.running {
		q.running = true
		q.closing = false
		c.acctWG.Add(1)
		go c.sendLoop()
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dropInterimLocked makes room for it in a full queue: the oldest queued
// Interim-Update goes (never the head, which may be on the wire). It
// reports whether it is to be queued (false: it is itself an Interim
// and the queue holds none to drop).
func (c *Client) dropInterimLocked(it *acctItem) bool {
	q := &c.aq
	for i := 1; i < len(q.items); i++ {
		if q.items[i].st == rfc2866.AcctStatusType_Value_InterimUpdate {
			q.items = append(q.items[:i], q.items[i+1:]...)
			c.acctDropped.Add(1)
			return true
		}
	}
	if it.st == rfc2866.AcctStatusType_Value_InterimUpdate {
		c.acctDropped.Add(1)
		return false
	}
	return true
}

// sendLoop sends the queue's head until the queue is empty after Close,
// retrying with backoff while no server answers.
func (c *Client) sendLoop() {
	defer c.acctWG.Done()
	q := &c.aq
	wait := acctRetryMin
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			close(q.drained)
			q.drained = make(chan struct{})
			if q.closing {
				q.running = false
				q.mu.Unlock()
				return
			}
			q.mu.Unlock()
			select {
			case <-q.wake:
			case <-c.stopSend:
				q.mu.Lock()
				q.running = false
				q.mu.Unlock()
				return
			}
			continue
		}
		it := q.items[0]
		outage := q.outage
		q.mu.Unlock()
		if outage {
			c.spoolPending()
		}
		err := c.sendItem(it)
		if err == nil {
			q.mu.Lock()
			it.done = true
			q.items = q.items[1:]
			c.acctPending.Store(int64(len(q.items)))
			q.outage = false
			q.mu.Unlock()
			c.unspool(it)
			wait = acctRetryMin
			continue
		}
		var fatal *buildError
		if errors.As(err, &fatal) {
			// The record cannot be encoded (it never will): drop it.
			q.mu.Lock()
			it.done = true
			q.items = q.items[1:]
			c.acctPending.Store(int64(len(q.items)))
			q.mu.Unlock()
			c.unspool(it)
			c.acctLost.Add(1)
			continue
		}
		q.mu.Lock()
		q.outage = true
		q.mu.Unlock()
		c.spoolPending()
		t := time.NewTimer(wait)
	backoff:
		for {
			select {
			case <-t.C:
				break backoff
			case <-q.wake:
				c.spoolPending()
			case <-c.stopSend:
				t.Stop()
				q.mu.Lock()
				q.running = false
				q.mu.Unlock()
				return
			}
		}
		wait = min(2*wait, c.cfg.AcctRetryMax)
	}
}

// buildError is a record that cannot be made into a packet.
type buildError struct{ err error }

func (e *buildError) Error() string { return e.err.Error() }
func (e *buildError) Unwrap() error { return e.err }

// sendItem makes one exchange (every server, with their resends) for it.
func (c *Client) sendItem(it *acctItem) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.acctBudget())
	defer cancel()
	tr, server := acctTrace(it.rec), ""
	reply, _, err := c.exchange(ctx, true, func(s *Server) (*radius.Packet, error) {
		p, err := c.acctRequest(s.Secret, it, time.Now())
		if err != nil {
			return nil, &buildError{err}
		}
		if tr != nil {
			server = s.Acct
			traceRequest(tr, p, server)
		}
		return p, nil
	})
	if err != nil {
		c.acctUnanswered.Add(1)
		c.log.Warn("radius accounting not answered: queued", "status", it.st.String(), "user", it.rec.User, "session_id", it.sessionID, "err", err)
		if tr != nil {
			tr.Trace("radius", "", "accounting "+it.st.String()+" not answered, queued: "+err.Error())
		}
		return err
	}
	if tr != nil {
		traceReply(tr, reply, server)
	}
	c.acctSent.Add(1)
	c.log.Debug("radius accounting sent", "status", it.st.String(), "user", it.rec.User, "session_id", it.sessionID,
		"delay", time.Since(it.event).Truncate(time.Second).String())
	return nil
}

// Close waits until the accounting queue is empty or ctx ends. Call it
// after the sessions have stopped. When ctx ends first, the queue's Starts
// and Stops are written to the spool (when there is one) and the sender
// goes on trying in the background; the error says how many are left.
// In an outage (the last try unanswered) they are spooled at once.
func (c *Client) Close(ctx context.Context) error {
	q := &c.aq
	q.mu.Lock()
	if !q.running {
		q.mu.Unlock()
		return nil
	}
	q.closing = true
	drained, outage := q.drained, q.outage
	q.mu.Unlock()
	if outage {
		// No server answered the last try: the queue goes to the spool
		// now, not at the end of the wait (the init SIGKILLs a boxd
		// that takes longer than its grace to stop).
		c.spoolPending()
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case <-drained:
		// And the interim updaters of sessions still running (Close is
		// meant for after they stopped).
		all := make(chan struct{})
		go func() { c.acctWG.Wait(); close(all) }()
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("radius: accounting of running sessions: %w", ctx.Err())
		}
	case <-ctx.Done():
	}
	c.spoolPending()
	q.mu.Lock()
	n := len(q.items)
	q.mu.Unlock()
	return fmt.Errorf("radius: %d accounting records still queued (%d in the spool): %w", n, c.spooled(), ctx.Err())
}

// Abandon stops the sender now (what is not answered stays in the
// spool, if any). For tests that simulate a crash, and for the end of the
// process.
func (c *Client) Abandon() {
	c.stopOnce.Do(func() { close(c.stopSend) })
	c.acctWG.Wait()
}
