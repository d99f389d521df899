package session

import "crypto/rand"

// callIDTries is how many random call IDs newCallID draws before it scans:
// with the map at most a few thousand calls full, a draw is free with
// probability above 0.9, so the scan only runs when nearly all 65,535 IDs
// are taken.
const callIDTries = 32

// newCallID picks our call ID for a new call (the key the peer puts in its
// GRE packets, RFC 2637 §2.7, §4.1): never 0 (the value a peer sends before
// it knows ours) and never one in use. It is random rather than sequential
// (issue 14 item 11): a sequential ID tells anyone who opens a call which
// IDs the live calls have, and an off-path sender who spoofs a client's
// address must then also guess 16 bits before a GRE packet of its reaches
// the call. crypto/rand never fails (Go 1.24+) and reads into a stack array
// without allocating. s.mu is held for writing. ok is false only when all
// 65,535 IDs are in use.
func (s *Server) newCallID() (id uint16, ok bool) {
	var b [2]byte
	for range callIDTries {
		rand.Read(b[:])
		id = uint16(b[0])<<8 | uint16(b[1])
		if _, used := s.calls[id]; id != 0 && !used {
			return id, true
		}
	}
	// Nearly full: scan on from the last draw.
	for range 1 << 16 {
		id++
		if _, used := s.calls[id]; id != 0 && !used {
			return id, true
		}
	}
	return 0, false
}
