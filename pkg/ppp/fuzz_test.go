package ppp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// Native fuzz targets. Seeds live in testdata/fuzz/<Target>/; the ones
// named "conversation-*" are frames of a real client/server exchange,
// regenerated with PPP_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus.

func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, false, false)
	f.Add([]byte{0x21, 0x45}, true, true)
	f.Fuzz(func(t *testing.T, b []byte, acfc, pfc bool) {
		proto, info, err := DecodeFrame(b)
		if err != nil {
			return
		}
		enc := AppendFrame(nil, proto, info, acfc, pfc)
		proto2, info2, err := DecodeFrame(enc)
		if err != nil {
			t.Fatalf("re-decode of % x: %v", enc, err)
		}
		if proto2 != proto || !bytes.Equal(info, info2) {
			t.Fatalf("round trip: %v % x -> %v % x", proto, info, proto2, info2)
		}
	})
}

func FuzzParsePacket(f *testing.F) {
	f.Add([]byte{1, 1, 0, 8, 1, 4, 5, 0x78})
	f.Add([]byte{9, 2, 0, 8, 0x12, 0x34, 0x56, 0x78, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		enc := p.Append(nil)
		p2, err := ParsePacket(enc)
		if err != nil {
			t.Fatalf("re-parse of % x: %v", enc, err)
		}
		if p2.Code != p.Code || p2.ID != p.ID || !bytes.Equal(p2.Data, p.Data) {
			t.Fatalf("round trip: %+v -> %+v", p, p2)
		}
		for _, proto := range []Proto{ProtoLCP, ProtoIPCP, ProtoCCP, ProtoPAP, ProtoCHAP} {
			_ = describe(proto, p)
		}
	})
}

// FuzzParseOptions covers the option list codec and the per-protocol
// option printers (LCP, IPCP, CCP).
func FuzzParseOptions(f *testing.F) {
	f.Add([]byte{1, 4, 0x05, 0x78, 3, 5, 0xc2, 0x23, 0x81, 5, 6, 1, 2, 3, 4, 7, 2, 8, 2})
	f.Add([]byte{3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0, 131, 6, 0, 0, 0, 0})
	f.Add([]byte{18, 6, 1, 0, 0, 0xe0})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := ParseOptions(b)
		if err != nil {
			return
		}
		enc := AppendOptions(nil, opts)
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding % x gave % x", b, enc)
		}
		opts2, err := ParseOptions(enc)
		if err != nil || !reflect.DeepEqual(opts, opts2) {
			t.Fatalf("round trip: %v %v", opts2, err)
		}
		for _, o := range opts {
			for _, proto := range []Proto{ProtoLCP, ProtoIPCP, ProtoCCP} {
				_ = describeOption(proto, o)
			}
		}
	})
}

// FuzzAuthValues covers the PAP and CHAP value parsers with round trips.
func FuzzAuthValues(f *testing.F) {
	f.Add(appendCHAPValue(nil, bytes.Repeat([]byte{7}, 16), "pptpbox"))
	f.Add(appendPAPRequest(nil, "test", "test.test"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseCHAPValue(b); err == nil {
			v2, err := parseCHAPValue(appendCHAPValue(nil, v.value, v.name))
			if err != nil || !bytes.Equal(v.value, v2.value) || v.name != v2.name {
				t.Fatalf("chap round trip: %+v -> %+v %v", v, v2, err)
			}
		}
		if r, err := parsePAPRequest(b); err == nil {
			r2, err := parsePAPRequest(appendPAPRequest(nil, r.user, string(r.password)))
			if err != nil || r.user != r2.user || !bytes.Equal(r.password, r2.password) {
				t.Fatalf("pap round trip: %+v -> %+v %v", r, r2, err)
			}
		}
	})
}

// splitFrames reads the fuzz input as frames, each preceded by a
// big-endian 16-bit length; a short tail is one last frame.
func splitFrames(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return append(out, b)
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if n > len(b) {
			n = len(b)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func joinFrames(frames [][]byte) []byte {
	var out []byte
	for _, f := range frames {
		out = binary.BigEndian.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	return out
}

// fuzzServer is a server Link whose randomness is fixed, so that a recorded
// client conversation replays all the way into the network phase.
func fuzzServer(onIP func([]byte)) *Link {
	cfg := serverConfig()
	cfg.RestartTimeout = time.Hour
	cfg.EchoInterval = 0
	cfg.Rand = seeded(1)
	cfg.Send = func([]byte) {}
	cfg.OnIP = onIP
	return New(cfg)
}

// replay feeds frames into l, letting authentication verdicts land.
func replay(l *Link, frames [][]byte) {
	for _, fr := range frames {
		l.Input(fr)
		for i := 0; i < 1000; i++ {
			l.lock()
			pending := l.auth.pending
			l.unlock()
			if !pending {
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// FuzzServerLink feeds arbitrary frames into a server Link: it must never
// panic, whatever state the frames drive it into.
func FuzzServerLink(f *testing.F) {
	f.Add(joinFrames([][]byte{{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		driveLink(t, fuzzServer(func([]byte) {}), b)
	})
}

// FuzzClientLink is FuzzServerLink for the client role.
func FuzzClientLink(f *testing.F) {
	f.Add(joinFrames([][]byte{{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := clientConfig()
		cfg.RestartTimeout = time.Hour
		cfg.Rand = seeded(2)
		driveLink(t, New(cfg), b)
	})
}

// driveLink starts l, feeds it the frames in b, sends once and closes it.
func driveLink(t *testing.T, l *Link, b []byte) {
	l.Start()
	replay(l, splitFrames(b))
	_ = l.WriteIP(ipPacket(64, 1))
	l.Close("fuzz done")
	// The peer's Terminate-Ack ends the link and stops its timers.
	l.Input(AppendFrame(nil, ProtoLCP, Packet{Code: CodeTermAck, ID: 1}.Append(nil), false, false))
	if l.Phase() != PhaseDead {
		t.Fatalf("link not dead after Close and Terminate-Ack: %v", l.Phase())
	}
	_ = l.Stats()
}

// TestWriteFuzzCorpus regenerates the conversation seeds. It is a tool,
// not a check: it runs only with PPP_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("PPP_WRITE_CORPUS") == "" {
		t.Skip("set PPP_WRITE_CORPUS=1 to regenerate testdata/fuzz conversation seeds")
	}
	for _, stateful := range []bool{false, true} {
		scfg, ccfg := serverConfig(), clientConfig()
		name := "stateless"
		if stateful {
			name = "stateful"
			scfg.MPPE.AllowStateful, scfg.MPPE.PreferStateful = true, true
			ccfg.MPPE.AllowStateful, ccfg.MPPE.PreferStateful = true, true
		}
		srv, cli := pair(t, scfg, ccfg)
		waitUp(t, srv, "server")
		waitUp(t, cli, "client")
		for i := 0; i < 3; i++ {
			if err := cli.link.WriteIP(ipPacket(60, byte(i))); err != nil {
				t.Fatal(err)
			}
			waitIP(t, srv, ipPacket(60, byte(i)))
		}
		cframes := cli.frames()
		all := append(srv.frames(), cframes...)
		writeSeed(t, "FuzzServerLink", "conversation-"+name, joinFrames(cframes))
		writeSeed(t, "FuzzClientLink", "conversation-"+name, joinFrames(srv.frames()))
		for i, fr := range all {
			writeSeed(t, "FuzzDecodeFrame", fmt.Sprintf("conversation-%s-%02d", name, i), fr, i%2 == 0, i%3 == 0)
			if _, info, err := DecodeFrame(fr); err == nil {
				writeSeed(t, "FuzzParsePacket", fmt.Sprintf("conversation-%s-%02d", name, i), info)
				if p, err := ParsePacket(info); err == nil && p.Code <= CodeConfRej {
					writeSeed(t, "FuzzParseOptions", fmt.Sprintf("conversation-%s-%02d", name, i), p.Data)
				}
				if p, err := ParsePacket(info); err == nil && p.Code <= 2 {
					writeSeed(t, "FuzzAuthValues", fmt.Sprintf("conversation-%s-%02d", name, i), p.Data)
				}
			}
		}
	}
}

// TestReplayConversation checks what makes the conversation seeds useful:
// a server with fixed randomness replays a recorded client all the way to
// decrypting its MPPE packets.
func TestReplayConversation(t *testing.T) {
	srv, cli := pair(t, serverConfig(), clientConfig())
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	for i := 0; i < 3; i++ {
		if err := cli.link.WriteIP(ipPacket(60, byte(i))); err != nil {
			t.Fatal(err)
		}
		waitIP(t, srv, ipPacket(60, byte(i)))
	}
	got := 0
	l := fuzzServer(func([]byte) { got++ })
	l.Start()
	replay(l, splitFrames(joinFrames(cli.frames())))
	defer l.Close("done")
	if got != 3 || l.Phase() != PhaseNetwork {
		t.Fatalf("replay delivered %d packets in phase %v, want 3 in network", got, l.Phase())
	}
	ccfg := clientConfig()
	ccfg.RestartTimeout = time.Hour
	ccfg.Rand = seeded(2)
	c := New(ccfg)
	c.Start()
	replay(c, splitFrames(joinFrames(srv.frames())))
	defer c.Close("done")
	if c.Phase() != PhaseNetwork {
		t.Fatalf("client replay ended in phase %v", c.Phase())
	}
}

func writeSeed(t *testing.T, target, name string, args ...any) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
