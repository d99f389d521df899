package gre

import (
	"encoding/binary"
	"testing"
	"time"
)

func data(seq uint32) Header { return Header{CallID: 1, PayloadLen: 4, Seq: seq, HasSeq: true} }

func TestTunnelReceive(t *testing.T) {
	tests := []struct {
		name    string
		seqs    []uint32
		deliver []bool
		want    TunnelStats
	}{
		{"in order from 0", []uint32{0, 1, 2, 3}, []bool{true, true, true, true}, TunnelStats{RxData: 4}},
		{"first packet any number", []uint32{1000, 1001}, []bool{true, true}, TunnelStats{RxData: 2}},
		{"duplicate dropped", []uint32{5, 5, 6, 6}, []bool{true, false, true, false}, TunnelStats{RxData: 2, RxOld: 2}},
		{"gap delivered, late packet dropped", []uint32{1, 4, 2, 3, 5}, []bool{true, true, false, false, true}, TunnelStats{RxData: 3, RxOld: 2, RxLost: 2}},
		{"wrap", []uint32{0xfffffffe, 0xffffffff, 0, 1}, []bool{true, true, true, true}, TunnelStats{RxData: 4}},
		{"wrap with gap", []uint32{0xfffffffe, 1}, []bool{true, true}, TunnelStats{RxData: 2, RxLost: 2}},
		{"old across wrap", []uint32{2, 0xffffffff}, []bool{true, false}, TunnelStats{RxData: 1, RxOld: 1}},
		{"jump of MaxSeqJump delivered", []uint32{10, 10 + MaxSeqJump}, []bool{true, true}, TunnelStats{RxData: 2, RxLost: MaxSeqJump - 1}},
		{"far jump dropped, window kept", []uint32{10, 11 + MaxSeqJump, 11, 0x7fffffff, 12}, []bool{true, false, true, false, true}, TunnelStats{RxData: 3, RxFarJump: 2}},
		{"jump within window across wrap", []uint32{0xffffff00, 0x00000e00}, []bool{true, true}, TunnelStats{RxData: 2, RxLost: 0xeff}},
		{"far jump across wrap dropped", []uint32{0xffffff00, 0x00001000}, []bool{true, false}, TunnelStats{RxData: 1, RxFarJump: 1}},
		// A stream resuming after an outage longer than the window: the
		// eighth far packet in a row is followed.
		{"resync after a run of far packets", []uint32{1, 10001, 10002, 10004, 10005, 10006, 10007, 10008, 10009, 10010, 9000},
			[]bool{true, false, false, false, false, false, false, false, true, true, false},
			TunnelStats{RxData: 3, RxFarJump: 7, RxResync: 1, RxOld: 1, RxLost: 10007}},
		// A packet inside the window breaks the run: the far ones were strays.
		{"run broken by an in-window packet", []uint32{1, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 2, 10008, 10009},
			[]bool{true, false, false, false, false, false, false, false, true, false, false},
			TunnelStats{RxData: 2, RxFarJump: 9}},
		// Far packets that are not in order among themselves start over.
		{"run of scattered far packets", []uint32{1, 10001, 20001, 10002, 30001, 10003, 40001, 10004, 50001},
			[]bool{true, false, false, false, false, false, false, false, false},
			TunnelStats{RxData: 1, RxFarJump: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tun := NewTunnel(TunnelConfig{PeerCallID: 9})
			for i, s := range tt.seqs {
				if got := tun.Receive(data(s)); got != tt.deliver[i] {
					t.Errorf("Receive(seq %d) = %v, want %v", s, got, tt.deliver[i])
				}
			}
			if got := tun.Stats(); got != tt.want {
				t.Errorf("stats = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTunnelSendSequenceAndPiggyBack(t *testing.T) {
	tun := NewTunnel(TunnelConfig{PeerCallID: 0x1234})
	h := tun.NextHeader(10)
	want := Header{CallID: 0x1234, PayloadLen: 10, Seq: 1, HasSeq: true}
	if h != want {
		t.Fatalf("first header = %+v, want %+v", h, want)
	}
	tun.Receive(data(7))
	h = tun.NextHeader(20)
	want = Header{CallID: 0x1234, PayloadLen: 20, Seq: 2, HasSeq: true, Ack: 7, HasAck: true}
	if h != want {
		t.Fatalf("second header = %+v, want %+v", h, want)
	}
	// The ack went out: neither the next data packet nor the timer repeats it.
	if h = tun.NextHeader(1); h.HasAck {
		t.Errorf("third header repeats the ack: %+v", h)
	}
	if ack, ok := tun.AckDue(time.Now()); ok {
		t.Errorf("AckDue after piggy-back = %d, true", ack)
	}
}

func TestTunnelAckDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tun := NewTunnel(TunnelConfig{PeerCallID: 3, AckDelay: 100 * time.Millisecond})
	if _, ok := tun.AckDue(t0); ok {
		t.Fatal("ack due before anything was received")
	}
	tun.Receive(data(41))
	tun.Receive(data(42))
	steps := []struct {
		at   time.Duration
		ok   bool
		want uint32
	}{
		{0, false, 0},                      // first sight starts the delay
		{50 * time.Millisecond, false, 0},  // still within AckDelay
		{100 * time.Millisecond, true, 42}, // due: newest delivered
		{200 * time.Millisecond, false, 0}, // already sent
	}
	for _, s := range steps {
		ack, ok := tun.AckDue(t0.Add(s.at))
		if ok != s.ok || ack != s.want {
			t.Errorf("AckDue(+%v) = %d, %v; want %d, %v", s.at, ack, ok, s.want, s.ok)
		}
	}
	h := tun.AckHeader(42)
	if want := (Header{CallID: 3, Ack: 42, HasAck: true}); h != want {
		t.Errorf("AckHeader = %+v, want %+v", h, want)
	}
	if _, _, err := Parse(AppendHeader(nil, h)); err != nil {
		t.Errorf("standalone ack does not parse: %v", err)
	}
	if st := tun.Stats(); st.TxAckOnly != 1 {
		t.Errorf("TxAckOnly = %d, want 1", st.TxAckOnly)
	}
	// An old duplicate does not make a new ack due.
	tun.Receive(data(40))
	if _, ok := tun.AckDue(t0.Add(time.Second)); ok {
		t.Error("ack due after a dropped old packet")
	}
}

func TestTunnelWindowAndAcks(t *testing.T) {
	tun := NewTunnel(TunnelConfig{PeerCallID: 1, PeerWindow: 2})
	ackOnly := func(a uint32) Header { return Header{CallID: 1, Ack: a, HasAck: true} }
	if tun.Receive(ackOnly(0)) {
		t.Fatal("standalone ack delivered")
	}
	if st := tun.Stats(); st.RxBadAck != 1 || st.RxAckOnly != 1 {
		t.Fatalf("ack before any send: stats %+v", st)
	}
	for range 3 { // seq 1, 2, 3: the third goes out with 2 unacknowledged
		tun.NextHeader(1)
	}
	if st := tun.Stats(); st.WindowExceeded != 1 {
		t.Fatalf("WindowExceeded = %d, want 1", st.WindowExceeded)
	}
	tun.Receive(ackOnly(3)) // all acknowledged
	tun.Receive(ackOnly(1)) // reordered old ack changes nothing
	tun.NextHeader(1)
	tun.Receive(ackOnly(9)) // never sent
	st := tun.Stats()
	if st.WindowExceeded != 1 || st.RxBadAck != 2 || st.TxData != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkTunnel(b *testing.B) {
	tun := NewTunnel(TunnelConfig{PeerCallID: 1, PeerWindow: 64})
	b.ReportAllocs()
	var seq uint32
	for b.Loop() {
		seq++
		tun.Receive(Header{Seq: seq, HasSeq: true, Ack: seq, HasAck: true})
		tun.NextHeader(1400)
	}
}

// FuzzTunnelReceive feeds a sequence of headers (5 bytes each: a flag byte
// choosing seq/ack presence, then a 32-bit number) and checks the receive
// invariants: delivered sequence numbers strictly increase in serial-number
// order, each within MaxSeqJump of the one before unless it ends a run of
// farResync-1 far drops, every data packet is delivered or counted as old
// or far, and no standalone ack is owed once one was taken.
func FuzzTunnelReceive(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 3, 0, 0, 0, 2})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xfe, 1, 0, 0, 0, 3, 1, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0})
	// A far jump, then the window goes on.
	f.Add([]byte{1, 0, 0, 0, 1, 1, 0, 0, 0x10, 2, 1, 0, 0, 0, 2})
	// A far jump across the 32-bit wrap, and one just inside the window.
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0x00, 1, 0, 0, 0x10, 0x00, 1, 0, 0, 0x0e, 0x00})
	// A run of far packets that resynchronises.
	run := []byte{1, 0, 0, 0, 1}
	for i := range byte(farResync + 1) {
		run = append(run, 1, 0, 1, 0, i)
	}
	f.Add(run)
	f.Fuzz(func(t *testing.T, in []byte) {
		tun := NewTunnel(TunnelConfig{PeerCallID: 1, PeerWindow: 4})
		var last uint32
		delivered, data, farRun := 0, 0, 0
		for i := 0; i+5 <= len(in); i += 5 {
			v := binary.BigEndian.Uint32(in[i+1:])
			h := Header{HasSeq: in[i]&1 != 0, HasAck: in[i]&2 != 0, Seq: v, Ack: v}
			if in[i]&4 != 0 {
				tun.NextHeader(10)
			}
			if h.HasSeq {
				data++
			}
			switch tun.ReceiveVerdict(h) {
			case Deliver:
				if delivered > 0 && !newer(h.Seq, last) {
					t.Fatalf("delivered %d after %d", h.Seq, last)
				}
				if delivered > 0 && h.Seq-last > MaxSeqJump && farRun < farResync-1 {
					t.Fatalf("delivered %d after %d with %d far drops before", h.Seq, last, farRun)
				}
				last = h.Seq
				delivered++
				farRun = 0
			case FarJump:
				if h.Seq-last <= MaxSeqJump {
					t.Fatalf("%d dropped as far after %d", h.Seq, last)
				}
				farRun++
			}
			if in[i]&8 != 0 {
				if ack, ok := tun.AckDue(time.Unix(0, 0)); ok && ack != last {
					t.Fatalf("ack %d, newest delivered %d", ack, last)
				}
				if _, ok := tun.AckDue(time.Unix(0, 0)); ok {
					t.Fatal("ack due twice")
				}
			}
		}
		st := tun.Stats()
		if int(st.RxData) != delivered || int(st.RxData+st.RxOld+st.RxFarJump) != data {
			t.Fatalf("stats %+v, delivered %d of %d", st, delivered, data)
		}
	})
}
