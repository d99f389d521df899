package mppe

import (
	"bytes"
	stdrc4 "crypto/rc4"
	"errors"
	"fmt"
	"testing"
)

// pair returns the two ends of one direction, keyed from the RFC 3079 sample.
func pair(t testing.TB, bits int, stateless bool) (*Encrypter, *Decrypter) {
	t.Helper()
	key := unhex(t, rfcSendStartKey)
	e, err := NewEncrypter(key, bits, stateless)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecrypter(key, bits, stateless)
	if err != nil {
		t.Fatal(err)
	}
	return e, d
}

// payloadFor is a recognisable PPP payload (protocol 0x0021, IPv4) per index.
func payloadFor(i int) []byte {
	p := []byte{0x00, 0x21}
	return append(p, fmt.Sprintf("packet %d %s", i, bytes.Repeat([]byte{byte(i)}, i%50))...)
}

func header(pkt []byte) (flags byte, count uint16) {
	return pkt[0] & 0xF0, (uint16(pkt[0])<<8 | uint16(pkt[1])) & 0x0FFF
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		key  int
		bits int
	}{
		{16, 64}, {16, 0}, {7, 40}, {8, 128}, {17, 128}, {0, 56},
	}
	for _, tt := range tests {
		if _, err := NewEncrypter(make([]byte, tt.key), tt.bits, true); err == nil {
			t.Errorf("NewEncrypter(%d octets, %d bits): no error", tt.key, tt.bits)
		}
		if _, err := NewDecrypter(make([]byte, tt.key), tt.bits, false); err == nil {
			t.Errorf("NewDecrypter(%d octets, %d bits): no error", tt.key, tt.bits)
		}
	}
	if _, err := NewEncrypter(make([]byte, 8), 40, false); err != nil {
		t.Errorf("8-octet key for 40 bits: %v", err)
	}
}

// The first stateless packet is the RFC sample encrypted under the first
// changed key; the first stateful one under the initial key itself.
func TestFirstPacket(t *testing.T) {
	msg := []byte("test message")
	tests := []struct {
		stateless bool
		flags     byte
		want      string
	}{
		{false, FlagEncrypted, "81 84 83 17 DF 68 84 62 72 FB 5A BE"},
		{true, FlagEncrypted | FlagFlushed, ""},
	}
	for _, tt := range tests {
		e, _ := pair(t, 128, tt.stateless)
		pkt := e.Encrypt(nil, msg)
		flags, count := header(pkt)
		if flags != tt.flags || count != 0 {
			t.Errorf("stateless=%v: header flags %02X count %d, want %02X 0", tt.stateless, flags, count, tt.flags)
		}
		if tt.want != "" && !bytes.Equal(pkt[2:], unhex(t, tt.want)) {
			t.Errorf("stateless=%v: ciphertext %X, want %s", tt.stateless, pkt[2:], tt.want)
		}
		if tt.stateless {
			// Reference: RC4 under the key after one change (RFC 3078 §7.3).
			var s session
			if err := s.init(unhex(t, rfcSendStartKey), 128); err != nil {
				t.Fatal(err)
			}
			k := refNextKey(s.start[:16], s.key[:16], 128)
			ref, _ := stdrc4.NewCipher(k)
			want := make([]byte, len(msg))
			ref.XORKeyStream(want, msg)
			if !bytes.Equal(pkt[2:], want) {
				t.Errorf("stateless first packet %X, want %X", pkt[2:], want)
			}
		}
	}
}

// Every mode and strength, past the 4096 wrap of the count.
func TestRoundTrip(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		for _, bits := range []int{40, 56, 128} {
			t.Run(fmt.Sprintf("bits=%d/stateless=%v", bits, stateless), func(t *testing.T) {
				e, d := pair(t, bits, stateless)
				var pkt, out []byte
				for i := range 4096 + 600 {
					pkt = e.Encrypt(pkt[:0], payloadFor(i))
					flags, count := header(pkt)
					if count != uint16(i%4096) {
						t.Fatalf("packet %d: count %d", i, count)
					}
					wantA := stateless || i%256 == 255
					if (flags&FlagFlushed != 0) != wantA {
						t.Fatalf("packet %d: A bit %v, want %v", i, flags&FlagFlushed != 0, wantA)
					}
					var err error
					out, err = d.Decrypt(out[:0], pkt)
					if err != nil {
						t.Fatalf("packet %d: %v", i, err)
					}
					if !bytes.Equal(out, payloadFor(i)) {
						t.Fatalf("packet %d: got %q", i, out)
					}
				}
			})
		}
	}
}

func TestStatelessLossAndReorder(t *testing.T) {
	e, d := pair(t, 128, true)
	d.now = slowClock() // this test is about the window, not the budget
	var pkts [][]byte
	for i := range 5000 {
		pkts = append(pkts, e.Encrypt(nil, payloadFor(i)))
	}
	// order is the arrival order; want is the error Decrypt must give.
	type step struct {
		i    int
		want error
	}
	steps := []step{
		{0, nil}, {2, nil}, {1, nil}, // 1 arrives late, inside the window
		{1, ErrReplayed}, {2, ErrReplayed}, // duplicates
		{100, nil},           // 97 lost
		{30, ErrLate},        // older than the window
		{99, nil}, {37, nil}, // late but within 64
		{36, ErrLate},               // just outside
		{100 + MaxJump, nil},        // a jump of MaxJump is followed
		{357 + MaxJump, ErrFarJump}, // one more is not (limit_test.go has more)
		{355 + MaxJump, nil},        // the counts stepped over are not lost
		{356 + MaxJump, nil}, {357 + MaxJump, nil},
		{357 + MaxJump + 2048, ErrLate}, // a jump of 2048 reads as "behind"
	}
	// Losses of up to MaxJump packets, across the wrap to 0.
	i := 357 + MaxJump
	for ; i < 4095-MaxJump; i += MaxJump {
		steps = append(steps, step{i + MaxJump, nil})
	}
	steps = append(steps, step{4095, nil}, step{4096, nil}, step{4097, nil}, // the count wraps to 0
		step{4094, nil}, step{4096, ErrReplayed})
	for _, s := range steps {
		out, err := d.Decrypt(nil, pkts[s.i])
		if !errors.Is(err, s.want) {
			t.Fatalf("packet %d: err %v, want %v", s.i, err, s.want)
		}
		if err == nil && !bytes.Equal(out, payloadFor(s.i)) {
			t.Fatalf("packet %d: got %q", s.i, out)
		}
	}
}

func TestStatefulLossAndFlush(t *testing.T) {
	for _, bits := range []int{40, 128} {
		e, d := pair(t, bits, false)
		send := func(i int) []byte { return e.Encrypt(nil, payloadFor(i)) }
		expect := func(pkt []byte, i int, want error) {
			t.Helper()
			out, err := d.Decrypt(nil, pkt)
			if !errors.Is(err, want) {
				t.Fatalf("%d bits, packet %d: err %v, want %v", bits, i, err, want)
			}
			if err == nil && !bytes.Equal(out, payloadFor(i)) {
				t.Fatalf("%d bits, packet %d: got %q", bits, i, out)
			}
		}
		i := 0
		for ; i < 10; i++ {
			expect(send(i), i, nil)
		}
		p10 := send(10) // lost... then arrives late below
		i = 11
		expect(send(i), i, ErrResetNeeded)
		i++
		expect(send(i), i, ErrAwaitingFlush)
		expect(p10, 10, ErrAwaitingFlush)
		// The peer got our Reset-Request; the next packet is flushed.
		e.Flush()
		i++
		pkt := send(i)
		if flags, _ := header(pkt); flags&FlagFlushed == 0 {
			t.Fatalf("packet after Flush has no A bit")
		}
		expect(pkt, i, nil)
		i++
		pkt = send(i)
		if flags, _ := header(pkt); flags&FlagFlushed != 0 {
			t.Fatalf("second packet after Flush has the A bit")
		}
		expect(pkt, i, nil)
		expect(pkt, i, ErrLate) // duplicate

		// Lose a run that spans two flag packets (0xFF, 0x1FF), then recover.
		for i++; i < 600; i++ {
			send(i)
		}
		e.Flush()
		expect(send(i), i, nil) // flushed: resync without a Reset-Request
		for i++; i < 5000; i++ {
			expect(send(i), i, nil)
		}
		// Lose the packets up to and including a flag packet, recover via reset.
		for ; i%256 != 255; i++ {
			send(i)
		}
		send(i) // the flag packet, lost
		i++
		expect(send(i), i, ErrResetNeeded)
		e.Flush()
		i++
		expect(send(i), i, nil)
		i++
		expect(send(i), i, nil)
	}
}

func TestFlagPackets(t *testing.T) {
	tests := []struct {
		last, ahead uint16
		want        int
	}{
		{0, 1, 0}, {0xFE, 1, 1}, {0xFF, 1, 0}, {0xFF, 256, 1}, {0xFF, 255, 0},
		{0x0FFE, 1, 1}, {0x0FFF, 1, 0}, {0x0F00, 0x200, 2}, {0, 4095, 16},
	}
	for _, tt := range tests {
		if got := flagPackets(tt.last, tt.ahead); got != tt.want {
			t.Errorf("flagPackets(%#x, %d) = %d, want %d", tt.last, tt.ahead, got, tt.want)
		}
		// Brute force agrees.
		n := 0
		for k := uint16(1); k <= tt.ahead; k++ {
			if (tt.last+k)&0xFF == 0xFF {
				n++
			}
		}
		if n != tt.want {
			t.Errorf("table entry %+v disagrees with counting (%d)", tt, n)
		}
	}
}

func TestDecryptRejects(t *testing.T) {
	e, _ := pair(t, 128, true)
	good := e.Encrypt(nil, payloadFor(0))
	mod := func(f func(p []byte)) []byte { p := bytes.Clone(good); f(p); return p }
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"one octet", good[:1], ErrShort},
		{"clear D bit", mod(func(p []byte) { p[0] &^= FlagEncrypted }), ErrNotEncrypted},
		{"MPPC", mod(func(p []byte) { p[0] |= FlagCompressed }), ErrCompressed},
	}
	for _, tt := range tests {
		for _, stateless := range []bool{true, false} {
			_, d := pair(t, 128, stateless)
			dst := []byte("keep")
			out, err := d.Decrypt(dst, tt.pkt)
			if !errors.Is(err, tt.want) {
				t.Errorf("%s (stateless %v): err %v, want %v", tt.name, stateless, err, tt.want)
			}
			if string(out) != "keep" {
				t.Errorf("%s: dst changed to %q", tt.name, out)
			}
		}
	}
	// A header-only packet is a valid empty payload.
	_, d := pair(t, 128, true)
	if out, err := d.Decrypt(nil, e.Encrypt(nil, nil)); err != nil || len(out) != 0 {
		t.Errorf("empty payload: %q, %v", out, err)
	}
}

func TestInPlace(t *testing.T) {
	for _, stateless := range []bool{true, false} {
		e, d := pair(t, 128, stateless)
		for i := range 300 {
			p := payloadFor(i)
			// Encrypt with the header written into 2 octets of headroom.
			buf := make([]byte, 10+HeaderLen+len(p))
			copy(buf[10+HeaderLen:], p)
			pkt := e.Encrypt(buf[:10], buf[10+HeaderLen:])[10:]
			if &pkt[0] != &buf[10] {
				t.Fatal("Encrypt moved the packet")
			}
			// Decrypt over the ciphertext itself.
			out, err := d.Decrypt(pkt[HeaderLen:HeaderLen], pkt)
			if err != nil || !bytes.Equal(out, p) {
				t.Fatalf("packet %d in place: %q, %v", i, out, err)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	for _, stateless := range []bool{true, false} {
		e, d := pair(t, 128, stateless)
		payload := make([]byte, 1400)
		pkt := make([]byte, 0, 1500)
		out := make([]byte, 0, 1500)
		allocs := testing.AllocsPerRun(500, func() {
			pkt = e.Encrypt(pkt[:0], payload)
			var err error
			out, err = d.Decrypt(out[:0], pkt)
			if err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("stateless=%v: %v allocations per packet", stateless, allocs)
		}
	}
}

// FuzzDecrypt feeds arbitrary packets, after a few good ones, to both modes
// and all strengths: no panic, nothing appended on error, exactly the
// ciphertext length appended on success. The input is cut into several
// packets (a length octet before each) so that state changes from one
// packet meet the next.
func FuzzDecrypt(f *testing.F) {
	e, _ := pair(f, 128, true)
	good := e.Encrypt(nil, payloadFor(1))
	f.Add(append([]byte{byte(len(good))}, good...), false)
	f.Add([]byte{4, 0x90, 0x00, 0x00, 0x21}, true)
	f.Add([]byte{2, 0x1F, 0xFF, 3, 0x90, 0x05, 0x21}, false)
	f.Add([]byte{1, 0xB0}, true)
	f.Fuzz(func(t *testing.T, in []byte, stateless bool) {
		for _, bits := range []int{40, 56, 128} {
			e, d := pair(t, bits, stateless)
			for i := range 3 {
				if _, err := d.Decrypt(nil, e.Encrypt(nil, payloadFor(i))); err != nil {
					t.Fatal(err)
				}
			}
			for rest := in; len(rest) > 0; {
				n := min(int(rest[0]), len(rest)-1)
				pkt := rest[1 : 1+n]
				rest = rest[1+n:]
				out, err := d.Decrypt([]byte{}, pkt)
				if err != nil && len(out) != 0 {
					t.Fatalf("error %v with %d octets of output", err, len(out))
				}
				if err == nil && len(out) != len(pkt)-HeaderLen {
					t.Fatalf("output %d octets for a %d-octet packet", len(out), len(pkt))
				}
			}
		}
	})
}

// codec is one direction of a cipher under benchmark: the package's
// Encrypter and Decrypter, or the reference in rc4ref_test.go.
type codec struct {
	encrypt func(dst, payload []byte) []byte
	decrypt func(dst, packet []byte) ([]byte, error)
}

func benchmark(b *testing.B, stateless bool, decrypt bool) {
	e, d := pair(b, 128, stateless)
	benchmarkCodec(b, codec{e.Encrypt, d.Decrypt}, decrypt)
}

func benchmarkCodec(b *testing.B, c codec, decrypt bool) {
	payload := make([]byte, 1400)
	pkt := make([]byte, 0, 1500)
	out := make([]byte, 0, 1500)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	if !decrypt {
		for b.Loop() {
			pkt = c.encrypt(pkt[:0], payload)
		}
		return
	}
	// Decrypt needs a stream of packets in order: pre-encrypt a ring
	// longer than the stateless window and cycle through fresh ones.
	const ring = 4096
	pkts := make([][]byte, ring)
	for i := range pkts {
		pkts[i] = c.encrypt(nil, payload)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == ring {
			// Start the next 4096-count cycle: same counts, next keys.
			b.StopTimer()
			for j := range pkts {
				pkts[j] = c.encrypt(pkts[j][:0], payload)
			}
			b.StartTimer()
			i = 0
		}
		var err error
		out, err = c.decrypt(out[:0], pkts[i])
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkEncryptStateful(b *testing.B)  { benchmark(b, false, false) }
func BenchmarkEncryptStateless(b *testing.B) { benchmark(b, true, false) }
func BenchmarkDecryptStateful(b *testing.B)  { benchmark(b, false, true) }
func BenchmarkDecryptStateless(b *testing.B) { benchmark(b, true, true) }

// refEncrypter is RFC 3078 §3 and §7 written the plain way with crypto/rc4:
// a new key before every stateless packet and before every stateful flag
// packet, the RC4 stream restarting with each key.
type refEncrypter struct {
	start, key []byte
	bits       int
	stateful   bool
	count      int
	c          *stdrc4.Cipher
}

func newRefEncrypter(t *testing.T, start []byte, bits int, stateful bool) *refEncrypter {
	n := 16
	if bits < 128 {
		n = 8
	}
	start = start[:n]
	key, err := GetNewKeyFromSHA(start, start)
	if err != nil {
		t.Fatal(err)
	}
	ReduceKey(key, bits)
	c, _ := stdrc4.NewCipher(key)
	return &refEncrypter{start: start, key: key, bits: bits, stateful: stateful, count: 4095, c: c}
}

func (r *refEncrypter) encrypt(p []byte) []byte {
	r.count = (r.count + 1) % 4096
	hdr := 0x10
	if !r.stateful || r.count%256 == 255 {
		r.key = refNextKey(r.start, r.key, r.bits)
		r.c, _ = stdrc4.NewCipher(r.key)
		hdr |= 0x80
	}
	out := []byte{byte(hdr) | byte(r.count>>8), byte(r.count)}
	ct := make([]byte, len(p))
	r.c.XORKeyStream(ct, p)
	return append(out, ct...)
}

func TestMatchesReferenceModel(t *testing.T) {
	for _, stateful := range []bool{false, true} {
		for _, bits := range []int{40, 56, 128} {
			e, _ := pair(t, bits, !stateful)
			ref := newRefEncrypter(t, unhex(t, rfcSendStartKey), bits, stateful)
			for i := range 4096 + 300 {
				got, want := e.Encrypt(nil, payloadFor(i)), ref.encrypt(payloadFor(i))
				if !bytes.Equal(got, want) {
					t.Fatalf("stateful=%v %d bits packet %d:\n got %X\nwant %X", stateful, bits, i, got, want)
				}
			}
		}
	}
}
