package session

import (
	"crypto/rand"

	"github.com/pptpbox/pptpbox/pkg/gre"
)

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
//
// With more than one receive shard (NewSharded) the ID falls in the shard
// that holds the fewest calls (gre.Shard), so the sessions spread evenly over
// the receive loops; the random draw keeps all its bits but the shard's.
func (s *Server) newCallID() (id uint16, ok bool) {
	n, k := len(s.shards), 0
	for i, sh := range s.shards {
		if sh.calls < s.shards[k].calls {
			k = i
		}
	}
	var b [2]byte
	for range callIDTries {
		rand.Read(b[:])
		r := int(b[0])<<8 | int(b[1])
		if n > 1 {
			r += k - r%n // the draw moved into shard k
		}
		id = uint16(r)
		if _, used := s.calls[id]; r <= 0xffff && id != 0 && !used {
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

// countCall adds d to the calls of call ID id's shard. s.mu is held for
// writing.
func (s *Server) countCall(id uint16, d int) {
	if len(s.shards) > 1 {
		s.shards[gre.Shard(id, len(s.shards))].calls += d
	}
}
