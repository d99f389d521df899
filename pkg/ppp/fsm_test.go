package ppp

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeLayer records the this-layer actions and answers check as told.
type fakeLayer struct {
	actions []string
	nak     bool
}

func (f *fakeLayer) request() []Option { return nil }
func (f *fakeLayer) check([]Option) (nak, rej []Option) {
	if f.nak {
		return []Option{{Type: 3, Value: []byte{10, 0, 0, 1}}}, nil
	}
	return nil, nil
}
func (f *fakeLayer) gotNak([]Option)   {}
func (f *fakeLayer) gotRej([]Option)   {}
func (f *fakeLayer) up()               { f.actions = append(f.actions, "tlu") }
func (f *fakeLayer) down()             { f.actions = append(f.actions, "tld") }
func (f *fakeLayer) started()          { f.actions = append(f.actions, "tls") }
func (f *fakeLayer) finished()         { f.actions = append(f.actions, "tlf") }
func (f *fakeLayer) other(Packet) bool { return false }

// TestFSMStateTable walks the RFC 1661 §4.1 state transition table: for
// each state and event, the next state and the actions (in any order; the
// restart-counter actions irc/zrc are not observable and left out).
func TestFSMStateTable(t *testing.T) {
	for _, r := range fsmStateTable() {
		t.Run(r.event+"/"+r.from.String(), func(t *testing.T) {
			var sent []string
			l := New(Config{RestartTimeout: time.Hour, Send: func(frame []byte) {
				_, info, _ := DecodeFrame(frame)
				p, _ := ParsePacket(info)
				sent = append(sent, map[Code]string{
					CodeConfReq: "scr", CodeConfAck: "sca", CodeConfNak: "scn", CodeConfRej: "scn",
					CodeTermReq: "str", CodeTermAck: "sta", CodeCodeRej: "scj",
				}[p.Code])
			}})
			ly := &fakeLayer{}
			f := newFSM(l, ProtoIPCP, ly)
			f.state = r.from
			f.reqID, f.restart = 7, 5
			fsmEvent(f, ly, r.event)
			f.stopTimer()
			for _, fn := range l.queue {
				fn()
			}
			got := append(ly.actions, sent...)
			want := []string{}
			if r.actions != "" {
				want = strings.Split(r.actions, ",")
			}
			slices.Sort(got)
			slices.Sort(want)
			if f.state != r.to || !slices.Equal(got, want) {
				t.Errorf("%v in %v: got %v %v, want %v %v", r.event, r.from, f.state, got, r.to, want)
			}
		})
	}
}

// fsmRow is one cell of the RFC 1661 §4.1 state transition table: event in
// state from leads to state to, with actions (comma-separated).
type fsmRow struct {
	from    State
	event   string
	to      State
	actions string
}

// fsmStateTable is the RFC 1661 §4.1 state transition table, one row per
// state and event.
func fsmStateTable() []fsmRow {
	const (
		s0 = StateInitial
		s1 = StateStarting
		s2 = StateClosed
		s3 = StateStopped
		s4 = StateClosing
		s5 = StateStopping
		s6 = StateReqSent
		s7 = StateAckRcvd
		s8 = StateAckSent
		s9 = StateOpened
	)
	var rows []fsmRow
	add := func(event string, states []State, tos []State, acts []string) {
		for i, s := range states {
			rows = append(rows, fsmRow{s, event, tos[i], acts[i]})
		}
	}
	all := []State{s2, s3, s4, s5, s6, s7, s8, s9}
	add("Up", []State{s0, s1}, []State{s2, s6}, []string{"", "scr"})
	add("Down", []State{s2, s3, s4, s5, s6, s7, s8, s9}, []State{s0, s1, s0, s1, s1, s1, s1, s1},
		[]string{"", "tls", "", "", "", "", "", "tld"})
	add("Open", []State{s0, s1, s2, s3, s4, s5, s6, s7, s8, s9}, []State{s1, s1, s6, s3, s5, s5, s6, s7, s8, s9},
		[]string{"tls", "", "scr", "", "", "", "", "", "", ""})
	add("Close", []State{s0, s1, s2, s3, s4, s5, s6, s7, s8, s9}, []State{s0, s0, s2, s2, s4, s4, s4, s4, s4, s4},
		[]string{"", "tlf", "", "", "", "", "str", "str", "str", "tld,str"})
	add("TO+", []State{s4, s5, s6, s7, s8}, []State{s4, s5, s6, s6, s8}, []string{"str", "str", "scr", "scr", "scr"})
	add("TO-", []State{s4, s5, s6, s7, s8}, []State{s2, s3, s3, s3, s3}, []string{"tlf", "tlf", "tlf", "tlf", "tlf"})
	add("RCR+", all, []State{s2, s8, s4, s5, s8, s9, s8, s8},
		[]string{"sta", "scr,sca", "", "", "sca", "sca,tlu", "sca", "tld,scr,sca"})
	add("RCR-", all, []State{s2, s6, s4, s5, s6, s7, s6, s6},
		[]string{"sta", "scr,scn", "", "", "scn", "scn", "scn", "tld,scr,scn"})
	add("RCA", all, []State{s2, s3, s4, s5, s7, s6, s9, s6},
		[]string{"sta", "sta", "", "", "", "scr", "tlu", "tld,scr"})
	add("RCN", all, []State{s2, s3, s4, s5, s6, s6, s8, s6},
		[]string{"sta", "sta", "", "", "scr", "scr", "scr", "tld,scr"})
	add("RTR", all, []State{s2, s3, s4, s5, s6, s6, s6, s5},
		[]string{"sta", "sta", "sta", "sta", "sta", "sta", "sta", "tld,sta"})
	add("RTA", all, []State{s2, s3, s2, s3, s6, s6, s8, s6},
		[]string{"", "", "tlf", "tlf", "", "", "", "tld,scr"})
	add("RUC", all, all, []string{"scj", "scj", "scj", "scj", "scj", "scj", "scj", "scj"})
	add("RXJ+", all, []State{s2, s3, s4, s5, s6, s6, s8, s9}, []string{"", "", "", "", "", "", "", ""})
	add("RXJ-", all, []State{s2, s3, s2, s3, s3, s3, s3, s5},
		[]string{"tlf", "tlf", "tlf", "tlf", "tlf", "tlf", "tlf", "tld,str"})
	return rows
}

// fsmEvent delivers the event TestFSMStateTable names to f, whose layer is ly
// and whose outstanding Configure-Request has identifier 7.
func fsmEvent(f *fsm, ly *fakeLayer, event string) {
	const id = 7
	switch event {
	case "Up":
		f.Up()
	case "Down":
		f.Down()
	case "Open":
		f.Open()
	case "Close":
		f.Close("test")
	case "TO+":
		f.timeout()
	case "TO-":
		f.restart = 0
		f.timeout()
	case "RCR+":
		f.input(Packet{Code: CodeConfReq, ID: 1})
	case "RCR-":
		ly.nak = true
		f.input(Packet{Code: CodeConfReq, ID: 1})
	case "RCA":
		f.input(Packet{Code: CodeConfAck, ID: id})
	case "RCN":
		f.input(Packet{Code: CodeConfNak, ID: id})
	case "RTR":
		f.input(Packet{Code: CodeTermReq, ID: 1})
	case "RTA":
		f.input(Packet{Code: CodeTermAck, ID: 1})
	case "RUC":
		f.input(Packet{Code: 0x42, ID: 1})
	case "RXJ+":
		f.input(Packet{Code: CodeCodeRej, ID: 1, Data: []byte{byte(CodeEchoReq), 1, 0, 4}})
	case "RXJ-":
		f.input(Packet{Code: CodeCodeRej, ID: 1, Data: []byte{byte(CodeConfReq), 1, 0, 4}})
	}
}

// TestFSMMaxFailure: after Max-Failure Configure-Naks the automaton rejects
// what the peer insists on (RFC 1661 §4.6).
func TestFSMMaxFailure(t *testing.T) {
	var codes []Code
	l := New(Config{RestartTimeout: time.Hour, Send: func(frame []byte) {
		_, info, _ := DecodeFrame(frame)
		p, _ := ParsePacket(info)
		codes = append(codes, p.Code)
	}})
	ly := &fakeLayer{nak: true}
	f := newFSM(l, ProtoIPCP, ly)
	f.state = StateReqSent
	req := AppendOptions(nil, []Option{{Type: 3, Value: []byte{0, 0, 0, 0}}})
	for i := 0; i < maxFailure+2; i++ {
		f.input(Packet{Code: CodeConfReq, ID: uint8(i), Data: req})
	}
	f.stopTimer()
	for _, fn := range l.queue {
		fn()
	}
	want := []Code{}
	for i := 0; i < maxFailure; i++ {
		want = append(want, CodeConfNak)
	}
	want = append(want, CodeConfRej, CodeConfRej)
	if !slices.Equal(codes, want) {
		t.Errorf("sent %v, want %v", codes, want)
	}
}

// TestFSMRestartCounter: Max-Configure requests, then TO- and tlf.
func TestFSMRestartCounter(t *testing.T) {
	n := 0
	l := New(Config{RestartTimeout: time.Hour, Send: func([]byte) { n++ }})
	ly := &fakeLayer{}
	f := newFSM(l, ProtoIPCP, ly)
	f.Open()
	f.Up()
	for f.state == StateReqSent {
		f.timeout()
	}
	f.stopTimer()
	for _, fn := range l.queue {
		fn()
	}
	if n != maxConfigure || f.state != StateStopped || !slices.Equal(ly.actions, []string{"tls", "tlf"}) {
		t.Errorf("sent %d requests, state %v, actions %v", n, f.state, ly.actions)
	}
}

// TestFSMRestartConverges: a Configure-Request retransmitted after the peer
// had already answered (a slow round trip, a lost packet) restarts the
// Opened side. Both automatons must then settle in Opened within a few
// round trips, not restart each other once per round trip for ever (which
// they did when the restart sent its Configure-Ack before its
// Configure-Request; seen with 2000 concurrent sessions).
func TestFSMRestartConverges(t *testing.T) {
	type side struct {
		l     *Link
		f     *fsm
		queue []Packet // sent, not yet delivered
	}
	mk := func() *side {
		s := &side{}
		s.l = New(Config{RestartTimeout: time.Hour, Send: func(frame []byte) {
			_, info, _ := DecodeFrame(frame)
			p, err := ParsePacket(info)
			if err != nil {
				t.Fatal(err)
			}
			s.queue = append(s.queue, p)
		}})
		s.f = newFSM(s.l, ProtoIPCP, &fakeLayer{})
		return s
	}
	flush := func(s *side) {
		q := s.l.queue
		s.l.queue = nil
		for _, fn := range q {
			fn()
		}
	}
	// deliver hands everything from sent to the other side, in order.
	deliver := func(from, to *side) {
		q := from.queue
		from.queue = nil
		for _, p := range q {
			to.f.input(p)
			flush(to)
		}
	}
	a, b := mk(), mk()
	for _, s := range []*side{a, b} {
		s.f.Open()
		s.f.Up()
		flush(s)
	}
	deliver(a, b) // b acks a's request: Ack-Sent
	deliver(b, a) // a acks b's request and gets its Ack: Opened
	if a.f.state != StateOpened || b.f.state != StateAckSent {
		t.Fatalf("set-up: a %v, b %v", a.f.state, b.f.state)
	}
	// b's restart timer fires before a's Ack arrives: b asks again, and
	// a's Ack of the old request is then stale.
	b.f.timeout()
	flush(b)
	for round := 0; round < 10; round++ {
		deliver(a, b)
		deliver(b, a)
		if a.f.state == StateOpened && b.f.state == StateOpened && len(a.queue) == 0 && len(b.queue) == 0 {
			if round > 2 {
				t.Errorf("opened after %d round trips, want at most 3", round+1)
			}
			a.f.stopTimer()
			b.f.stopTimer()
			return
		}
	}
	t.Fatalf("no agreement after 10 round trips: a %v, b %v (queued %d, %d)", a.f.state, b.f.state, len(a.queue), len(b.queue))
}
