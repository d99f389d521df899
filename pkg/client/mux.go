package client

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// Batch is the most GRE packets the Mux reads at once: what a
// Config.Flush gets at most between two calls.
const Batch = 16

// Mux shares one GRE connection among clients.
type Mux struct {
	conn gre.Conn
	mu   sync.RWMutex
	byID map[uint16]*Client
	next uint16
	done chan struct{}
	// flush: the clients with a Config.Flush whose OnIP got packets in the
	// current receive batch (run's goroutine only).
	flush []*Client
	// Dropped counts GRE packets for no known call or malformed.
	Dropped atomic.Uint64
}

// NewMux starts demultiplexing conn; Close stops it and closes conn.
func NewMux(conn gre.Conn) *Mux {
	m := &Mux{conn: conn, byID: map[uint16]*Client{}, next: uint16(time.Now().UnixNano()), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *Mux) Close() error {
	err := m.conn.Close()
	<-m.done
	return err
}

func (m *Mux) run() {
	defer close(m.done)
	msgs := make([]gre.Message, Batch)
	for i := range msgs {
		msgs[i].Buf = make([]byte, 65536)
	}
	for {
		n, err := m.conn.ReadBatch(msgs)
		if err != nil {
			return
		}
		for i := range msgs[:n] {
			h, payload, err := gre.Parse(msgs[i].Buf[:msgs[i].N])
			if err != nil {
				m.Dropped.Add(1)
				continue
			}
			m.mu.RLock()
			c := m.byID[h.CallID]
			m.mu.RUnlock()
			if c == nil {
				m.Dropped.Add(1)
				continue
			}
			c.received(h, payload)
		}
		m.flushBatch()
	}
}

// touched notes that c's OnIP got a packet in the current receive batch;
// called from c's link's OnIP, which runs on run's goroutine (received).
func (m *Mux) touched(c *Client) {
	if c.cfg.Flush != nil && !c.inBatch {
		c.inBatch = true
		m.flush = append(m.flush, c)
	}
}

// flushBatch calls Config.Flush of the clients that got IP packets in the
// batch just handled, before the next read reuses the buffers.
func (m *Mux) flushBatch() {
	for i, c := range m.flush {
		c.inBatch = false
		c.cfg.Flush()
		m.flush[i] = nil
	}
	m.flush = m.flush[:0]
}

func (m *Mux) register(c *Client) uint16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		m.next++
		if _, used := m.byID[m.next]; m.next != 0 && !used {
			m.byID[m.next] = c
			return m.next
		}
	}
}

func (m *Mux) unregister(id uint16) {
	m.mu.Lock()
	delete(m.byID, id)
	m.mu.Unlock()
}
