package session

import (
	"testing"
)

// Call IDs are random: never 0, never one in use, not a sequence an
// observer can extrapolate, and still found when nearly all are taken.
// The sequential allocator this replaced failed the spread checks (every
// step +1).
func TestCallIDsRandom(t *testing.T) {
	s := &Server{calls: map[uint16]*Session{}}
	const n = 2000
	var prev uint16
	steps1, high := 0, 0
	for i := range n {
		id, ok := s.newCallID()
		if !ok || id == 0 {
			t.Fatalf("call %d: id %d ok %v", i, id, ok)
		}
		if _, used := s.calls[id]; used {
			t.Fatalf("call %d: id %d already in use", i, id)
		}
		s.calls[id] = nil
		if i > 0 && id-prev == 1 {
			steps1++
		}
		if id >= 1<<15 {
			high++
		}
		prev = id
	}
	// Random IDs: a +1 step has probability 1/65536 per call; half of
	// them lie in the upper half (binomial, sd ~22 for 2000).
	if steps1 > 3 {
		t.Errorf("%d of %d call IDs followed the previous by one", steps1, n)
	}
	if high < n/2-200 || high > n/2+200 {
		t.Errorf("%d of %d call IDs in the upper half", high, n)
	}
	// Nearly full: the last free ID is found; then there is none.
	for id := range 1 << 16 {
		s.calls[uint16(id)] = nil
	}
	delete(s.calls, 0)
	delete(s.calls, 12345)
	if id, ok := s.newCallID(); !ok || id != 12345 {
		t.Fatalf("with one ID free: %d, %v", id, ok)
	}
	s.calls[12345] = nil
	if id, ok := s.newCallID(); ok {
		t.Fatalf("with every ID taken: %d, true", id)
	}
}

func TestCallIDNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race crypto/rand.Read's buffer escapes to the heap")
	}
	s := &Server{calls: map[uint16]*Session{1: nil, 2: nil}}
	if a := testing.AllocsPerRun(1000, func() { s.newCallID() }); a != 0 {
		t.Errorf("newCallID: %v allocs", a)
	}
}

// With receive shards, each new call goes to the shard with the fewest
// calls (the IDs stay random within it), and a call that ends frees its
// shard's place.
func TestCallIDsBalanceShards(t *testing.T) {
	s := &Server{calls: map[uint16]*Session{}}
	for range 3 {
		s.shards = append(s.shards, &rxShard{})
	}
	high := 0
	for i := range 300 {
		id, ok := s.newCallID()
		if !ok || id == 0 {
			t.Fatalf("call %d: id %d ok %v", i, id, ok)
		}
		if want := i % 3; int(id)%3 != want {
			t.Fatalf("call %d: id %d in shard %d, want %d (counts %d %d %d)", i, id, int(id)%3, want,
				s.shards[0].calls, s.shards[1].calls, s.shards[2].calls)
		}
		if id >= 1<<15 {
			high++
		}
		s.calls[id] = nil
		s.countCall(id, 1)
	}
	if high < 100 || high > 200 {
		t.Errorf("%d of 300 call IDs in the upper half", high)
	}
	for id := range s.calls {
		if id%3 == 1 {
			delete(s.calls, id)
			s.countCall(id, -1)
		}
	}
	if id, _ := s.newCallID(); id%3 != 1 {
		t.Errorf("after shard 1 emptied: id %d in shard %d", id, id%3)
	}
	if raceEnabled {
		return
	}
	if a := testing.AllocsPerRun(1000, func() { s.newCallID() }); a != 0 {
		t.Errorf("newCallID with shards: %v allocs", a)
	}
}
