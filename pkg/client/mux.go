package client

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

// Mux shares one GRE connection among clients.
type Mux struct {
	conn gre.Conn
	mu   sync.RWMutex
	byID map[uint16]*Client
	next uint16
	done chan struct{}
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
	msgs := make([]gre.Message, 16)
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
	}
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
