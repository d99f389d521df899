// Package ntptest is an in-process SNTP server on loopback for tests
// (RFC 4330 §5 server side): it answers each client request with its own
// clock moved by Offset. Tests never ask a server on the internet.
package ntptest

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Server answers SNTP requests on a UDP socket.
type Server struct {
	conn *net.UDPConn
	mu   sync.Mutex
	off  time.Duration
	strt uint8
	leap uint8
	reqs atomic.Int64
	done chan struct{}
}

// Start listens on 127.0.0.1 (a free port) and serves until Close. The
// server's clock is the local one moved by offset; it claims stratum 2.
func Start(offset time.Duration) (*Server, error) { return StartAt("127.0.0.1:0", offset) }

// StartAt is Start on addr ("IP:port"): a test network's address, such
// as a namespace's WAN host at port 123 (the socket stays in the network
// namespace of the thread that calls StartAt).
func StartAt(addr string, offset time.Duration) (*Server, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	s := &Server{conn: c, off: offset, strt: 2, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Addr is "127.0.0.1:port", for a client's server list.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Set changes the server's offset, stratum (0 is a kiss-o'-death) and leap
// indicator (3: not synchronised).
func (s *Server) Set(offset time.Duration, stratum, leap uint8) {
	s.mu.Lock()
	s.off, s.strt, s.leap = offset, stratum, leap
	s.mu.Unlock()
}

// Requests is how many requests the server answered.
func (s *Server) Requests() int64 { return s.reqs.Load() }

// Close stops the server.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 512)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 48 || buf[0]&7 != 3 { // mode 3: client
			continue
		}
		s.mu.Lock()
		off, strt, leap := s.off, s.strt, s.leap
		s.mu.Unlock()
		recv := time.Now().Add(off)
		var r [48]byte
		r[0] = leap<<6 | (buf[0]>>3&7)<<3 | 4 // LI, the client's VN, mode 4: server
		r[1] = strt
		r[2] = buf[2]                                // poll, as asked
		r[3] = 0xec                                  // precision 2^-20 s
		binary.BigEndian.PutUint32(r[8:], 1<<16/100) // root dispersion 10 ms
		copy(r[12:16], "TEST")
		putTime(r[16:], recv.Add(-time.Minute)) // reference: last set a minute ago
		copy(r[24:32], buf[40:48])              // originate = the client's transmit
		putTime(r[32:], recv)
		putTime(r[40:], time.Now().Add(off))
		if _, err := s.conn.WriteToUDP(r[:], from); err != nil {
			return
		}
		s.reqs.Add(1)
	}
}

// putTime writes t as an NTP timestamp: seconds since 1900 and a 32-bit
// fraction (RFC 4330 §3).
func putTime(b []byte, t time.Time) {
	const era = 2208988800 // 1900 to 1970 in seconds
	ns := t.UnixNano()
	sec := uint64(ns/1e9) + era
	frac := uint64(ns%1e9) << 32 / 1e9
	binary.BigEndian.PutUint64(b, sec<<32|frac)
}
