package pptp

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"testing"
	"time"
)

// splitTurns reads fuzz input as the fake server's turns, each preceded by
// a big-endian 16-bit length; a short tail is one last turn.
func splitTurns(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return append(out, b)
		}
		n := min(int(binary.BigEndian.Uint16(b)), len(b)-2)
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

func joinTurns(turns ...[]Message) []byte {
	var out []byte
	for _, turn := range turns {
		var t []byte
		for _, m := range turn {
			t = m.Append(t)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(t)))
		out = append(out, t...)
	}
	return out
}

// FuzzClientConn drives the client (PNS) side through every state (start,
// calls placed, established, being cleared, stopping) against a fake server
// that answers each message the client sends with the next turn of the
// input, whatever bytes it holds. The client must never panic or hang, and
// the Handler hears of each call at most once, and only of calls placed.
func FuzzClientConn(f *testing.F) {
	for _, s := range clientConnSeeds() {
		f.Add(s)
	}
	f.Fuzz(fuzzClientConn)
}

// clientConnSeeds are the conversations of testdata/fuzz/FuzzClientConn.
func clientConnSeeds() [][]byte {
	connected := &OutgoingCallReply{CallID: 0x100, PeerCallID: 1, Result: OutgoingConnected, RecvWindow: 64}
	var seeds [][]byte
	seeds = append(seeds, joinTurns(
		[]Message{&StartControlConnectionReply{ProtocolVersion: ProtocolVersion, Result: ControlOK, HostName: "pac"}},
		[]Message{connected},
		[]Message{&OutgoingCallReply{PeerCallID: 2, Result: OutgoingGeneralError, Error: ErrorNoResource},
			&WANErrorNotify{PeerCallID: 1}},
		nil, // after Set-Link-Info
		[]Message{&CallDisconnectNotify{CallID: 0x100, Result: DisconnectRequest}},
		[]Message{&StopControlConnectionReply{Result: ResultOK}},
	))
	seeds = append(seeds, joinTurns(
		[]Message{&StartControlConnectionReply{ProtocolVersion: ProtocolVersion, Result: ControlOK}},
		[]Message{connected, connected, &OutgoingCallRequest{CallID: 3}, &SetLinkInfo{PeerCallID: 1}},
		[]Message{&CallDisconnectNotify{CallID: 0x100, Result: DisconnectLostCarrier},
			&OutgoingCallReply{CallID: 0x101, PeerCallID: 2, Result: OutgoingConnected},
			&CallClearRequest{CallID: 0x101}},
		[]Message{&StopControlConnectionRequest{Reason: StopNone}},
	))
	seeds = append(seeds, joinTurns(
		[]Message{&StartControlConnectionReply{ProtocolVersion: ProtocolVersion, Result: ControlGeneralError}},
	))
	seeds = append(seeds, joinTurns(
		[]Message{&StartControlConnectionRequest{ProtocolVersion: ProtocolVersion},
			&StartControlConnectionReply{ProtocolVersion: ProtocolVersion, Result: ControlOK}},
		[]Message{&EchoRequest{Identifier: 9}, &IncomingCallRequest{CallID: 5}, &EchoReply{Identifier: 0},
			&StopControlConnectionReply{Result: ResultOK}},
	))
	return seeds
}

func fuzzClientConn(t *testing.T, in []byte) {
	turns := splitTurns(in)
	a, b := net.Pipe()
	h := newRecorder()
	h.cleared = make(chan uint16, 1<<16)
	cli := NewClientConn(a, Config{StopTimeout: 10 * time.Millisecond, WriteTimeout: time.Second},
		h, slog.New(slog.DiscardHandler))
	errc := served(cli)

	// The fake server: its reader wakes its writer once per message
	// the client sends; the writer answers with the next turn and
	// hangs up when the turns run out. Separate goroutines, so the
	// client's replies never wait behind our writes.
	heard := make(chan struct{}, 1<<10)
	go func() {
		defer close(heard)
		buf := make([]byte, MaxMessageLen)
		for {
			if _, err := ReadMessage(b, buf); err != nil {
				return
			}
			select {
			case heard <- struct{}{}:
			default:
				// A turn of a thousand Echo-Requests has the client
				// answer faster than turns are written; blocking here
				// would stall the client's writes and with them its
				// reads of our turn until a write timeout.
			}
		}
	}()
	go func() {
		defer b.Close()
		for _, turn := range turns {
			if _, ok := <-heard; !ok {
				return
			}
			b.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if _, err := b.Write(turn); err != nil {
				return
			}
		}
		<-heard // let the client's next message land before the hang-up
	}()

	ops := make(chan struct{})
	go func() {
		defer close(ops)
		op := func() (context.Context, context.CancelFunc) {
			// A turn without the awaited reply costs the whole timeout:
			// keep it short, or four of them bound the exec rate.
			return context.WithTimeout(context.Background(), 10*time.Millisecond)
		}
		ctx, cancel := op()
		defer cancel()
		if cli.Start(ctx) != nil {
			return
		}
		for _, id := range []uint16{1, 2} {
			ctx, cancel := op()
			cli.OutgoingCall(ctx, id)
			cancel()
		}
		cli.SetLinkInfo(1, 0xffffffff, 0)
		ctx, cancel = op()
		cli.ClearCall(ctx, 1)
		cancel()
	}()
	select {
	case <-ops:
	case <-time.After(5 * time.Second):
		t.Fatal("client calls did not return")
	}
	closed := make(chan struct{})
	go func() { cli.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not end")
	}
	if cli.State() != StateClosed {
		t.Fatalf("state %s after Serve ended", cli.State())
	}
	seen := map[uint16]int{}
	for len(h.cleared) > 0 {
		seen[<-h.cleared]++
	}
	for id, n := range seen {
		if (id != 1 && id != 2) || n != 1 {
			t.Fatalf("CallCleared(%d) %d times; only calls 1 and 2 were placed", id, n)
		}
	}
}
