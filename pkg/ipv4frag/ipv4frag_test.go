package ipv4frag

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

var (
	srcA = [4]byte{192, 0, 2, 1}
	dstA = [4]byte{10, 79, 97, 10}
	box  = netip.MustParseAddr("10.79.97.1")
)

// packet builds an IPv4 packet: options opts (padded by the caller to a
// multiple of 4), flags/offset field ff, protocol proto, payload of n
// octets counting up from seed.
func packet(opts []byte, ff uint16, proto byte, n int, seed byte) []byte {
	hlen := HeaderLen + len(opts)
	p := make([]byte, hlen+n)
	p[0] = 0x40 | byte(hlen/4)
	binary.BigEndian.PutUint16(p[2:4], uint16(len(p)))
	binary.BigEndian.PutUint16(p[4:6], 0xbeef)
	binary.BigEndian.PutUint16(p[6:8], ff)
	p[8] = 63
	p[9] = proto
	copy(p[12:16], srcA[:])
	copy(p[16:20], dstA[:])
	copy(p[HeaderLen:], opts)
	for i := range n {
		p[hlen+i] = seed + byte(i)
	}
	binary.BigEndian.PutUint16(p[10:12], Checksum(p[:hlen]))
	return p
}

// Options for the tests: a copied one (Loose Source Route, type 131,
// RFC 791), an uncopied one (Record Route, type 7), NOPs and EOL padding.
var (
	optLSRR = []byte{131, 7, 4, 198, 51, 100, 1}
	optRR   = []byte{7, 7, 4, 0, 0, 0, 0}
	// mixed: NOP, RR, LSRR, EOL -> 16 octets.
	optMixed = slices.Concat([]byte{optNOP}, optRR, optLSRR, []byte{optEOL})
)

// fragments runs Fragment and keeps copies of what it emits.
func fragments(t testing.TB, pkt []byte, mtu int) ([][]byte, error) {
	t.Helper()
	var out [][]byte
	scratch := make([]byte, mtu+16)
	n, err := Fragment(pkt, mtu, scratch, func(f []byte) error {
		out = append(out, bytes.Clone(f))
		// The caller may overwrite the fragment (encrypt in place).
		clear(f)
		return nil
	})
	if err == nil && n != len(out) {
		t.Fatalf("Fragment returned %d, emitted %d", n, len(out))
	}
	return out, err
}

// checkFragment checks what every fragment must satisfy on its own.
// A packet that fitted comes back whole and may keep its DF.
func checkFragment(f []byte, mtu int, whole bool) error {
	hlen, total, err := header(f)
	if err != nil {
		return fmt.Errorf("fragment does not parse: %w", err)
	}
	if total != len(f) {
		return fmt.Errorf("total length %d, fragment is %d octets", total, len(f))
	}
	if len(f) > mtu {
		return fmt.Errorf("fragment of %d octets exceeds MTU %d", len(f), mtu)
	}
	if !whole && Checksum(f[:hlen]) != 0 { // a whole packet is passed on as it came
		return fmt.Errorf("bad header checksum")
	}
	if !whole && binary.BigEndian.Uint16(f[6:8])&flagDF != 0 {
		return fmt.Errorf("fragment has DF set")
	}
	return nil
}

// reassemble is the receiver's side, written independently of Fragment:
// fragments sorted by offset must tile the data without gap or overlap,
// all but the last have MF set and 8-octet multiples of data, and they
// share the identification, addresses and protocol. It returns the datagram
// they make: the first fragment's header with the total length, the MF of
// the last piece, and the checksum recomputed.
func reassemble(frags [][]byte, mtu int) ([]byte, error) {
	if len(frags) == 0 {
		return nil, errors.New("no fragments")
	}
	type piece struct {
		off  int
		mf   bool
		hdr  []byte
		data []byte
	}
	ps := make([]piece, 0, len(frags))
	for i, f := range frags {
		if err := checkFragment(f, mtu, len(frags) == 1); err != nil {
			return nil, fmt.Errorf("fragment %d: %w", i, err)
		}
		hlen := int(f[0]&0x0f) * 4
		ff := binary.BigEndian.Uint16(f[6:8])
		ps = append(ps, piece{off: int(ff&offsetMask) * 8, mf: ff&flagMF != 0, hdr: f[:hlen], data: f[hlen:]})
	}
	slices.SortFunc(ps, func(a, b piece) int { return a.off - b.off })
	first := ps[0]
	var data []byte
	for i, p := range ps {
		if !bytes.Equal(p.hdr[4:6], first.hdr[4:6]) || p.hdr[9] != first.hdr[9] || !bytes.Equal(p.hdr[12:20], first.hdr[12:20]) {
			return nil, fmt.Errorf("fragment at %d: identification, protocol or addresses differ", p.off)
		}
		if p.off != first.off+len(data) {
			return nil, fmt.Errorf("fragment at %d: expected offset %d", p.off, first.off+len(data))
		}
		if i < len(ps)-1 {
			if !p.mf {
				return nil, fmt.Errorf("fragment at %d is not the last but has MF clear", p.off)
			}
			if len(p.data)%8 != 0 {
				return nil, fmt.Errorf("fragment at %d: %d octets of data, not a multiple of 8", p.off, len(p.data))
			}
		}
		if i > 0 {
			// Later fragments carry only copied options (RFC 791 §3.1).
			for _, o := range options(p.hdr) {
				if o[0]&optCopied == 0 {
					return nil, fmt.Errorf("fragment at %d carries uncopied option %d", p.off, o[0])
				}
			}
			if !slices.EqualFunc(options(p.hdr), copiedOptions(first.hdr), bytes.Equal) {
				return nil, fmt.Errorf("fragment at %d: options %x, want the copied ones of %x", p.off, p.hdr[HeaderLen:], first.hdr[HeaderLen:])
			}
		}
		data = append(data, p.data...)
	}
	out := slices.Concat(first.hdr, data)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	ff := binary.BigEndian.Uint16(out[6:8]) &^ flagMF
	if ps[len(ps)-1].mf {
		ff |= flagMF
	}
	binary.BigEndian.PutUint16(out[6:8], ff)
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], Checksum(out[:len(first.hdr)]))
	return out, nil
}

// options lists the options of header h other than NOP and EOL.
func options(h []byte) [][]byte {
	var out [][]byte
	for i := HeaderLen; i < len(h); {
		switch h[i] {
		case optEOL:
			return out
		case optNOP:
			i++
			continue
		}
		l := int(h[i+1])
		out = append(out, h[i:i+l])
		i += l
	}
	return out
}

func copiedOptions(h []byte) [][]byte {
	var out [][]byte
	for _, o := range options(h) {
		if o[0]&optCopied != 0 {
			out = append(out, o)
		}
	}
	return out
}

// normalised is pkt cut to its total length with its checksum recomputed,
// what reassembly of its fragments must give back.
func normalised(pkt []byte) []byte {
	hlen, total, _ := header(pkt)
	out := bytes.Clone(pkt[:total])
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], Checksum(out[:hlen]))
	return out
}

func TestFragment(t *testing.T) {
	tests := []struct {
		name    string
		pkt     []byte
		mtu     int
		want    int // fragments
		wantLen []int
		err     error
	}{
		{"fits", packet(nil, 0, 17, 1180, 1), 1200, 1, []int{1200}, nil},
		{"fits exactly with DF", packet(nil, flagDF, 17, 1180, 1), 1200, 1, []int{1200}, nil},
		{"1300 to 1200", packet(nil, 0, 1, 1280, 1), 1200, 2, []int{1196, 124}, nil},
		{"1400 to 576", packet(nil, 0, 17, 1380, 2), 576, 3, []int{572, 572, 296}, nil},
		{"64k to 1400", packet(nil, 0, 17, 65515, 3), 1400, 48, nil, nil},
		{"MTU 68, no options", packet(nil, 0, 17, 100, 4), 68, 3, []int{68, 68, 20 + 4}, nil},
		{"options: first keeps all, later copied only", packet(optMixed, 0, 17, 2000, 5), 1000, 3, []int{36 + 960, 28 + 968, 28 + 72}, nil},
		{"uncopied options dropped", packet(slices.Concat(optRR, []byte{0}), 0, 17, 300, 6), 128, 3, []int{28 + 96, 20 + 104, 20 + 100}, nil},
		{"DF set", packet(nil, flagDF, 17, 1280, 1), 1200, 0, nil, ErrDontFragment},
		{"MTU below header+8", packet(optMixed, 0, 17, 1280, 1), 43, 0, nil, ErrMTU},
		{"not IPv4", append([]byte{0x60}, make([]byte, 100)...), 68, 0, nil, ErrMalformed},
		{"short", []byte{0x45, 0, 0, 10}, 68, 0, nil, ErrMalformed},
		{"bad option length", packet([]byte{131, 1, 0, 0}, 0, 17, 200, 1), 100, 0, nil, ErrMalformed},
		{"option past header", packet([]byte{131, 9, 0, 0}, 0, 17, 200, 1), 100, 0, nil, ErrMalformed},
		{"offset past 64k", packet(nil, 8000, 17, 2000, 1), 1000, 0, nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frags, err := fragments(t, tt.pkt, tt.mtu)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if len(frags) != tt.want {
				t.Fatalf("%d fragments, want %d", len(frags), tt.want)
			}
			if tt.wantLen != nil {
				var got []int
				for _, f := range frags {
					got = append(got, len(f))
				}
				if !slices.Equal(got, tt.wantLen) {
					t.Fatalf("fragment lengths %v, want %v", got, tt.wantLen)
				}
			}
			back, err := reassemble(frags, tt.mtu)
			if err != nil {
				t.Fatal(err)
			}
			if want := normalised(tt.pkt); !bytes.Equal(back, want) {
				t.Fatalf("reassembled\n%x\nwant\n%x", back, want)
			}
		})
	}
}

// A fragment refragmented on a smaller link: its pieces keep its offset
// and identification, and only its last piece keeps its MF, so all the
// pieces of both rounds reassemble to the original.
func TestRefragment(t *testing.T) {
	orig := packet(optMixed, 0, 17, 3000, 7)
	first, err := fragments(t, orig, 1400)
	if err != nil {
		t.Fatal(err)
	}
	var all [][]byte
	for i, f := range first {
		mtu := 576 - 8*i // different sizes per fragment
		again, err := fragments(t, f, mtu)
		if err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if len(f) > mtu && len(again) < 2 {
			t.Fatalf("fragment %d of %d octets not split for MTU %d", i, len(f), mtu)
		}
		all = append(all, again...)
	}
	back, err := reassemble(all, 1400)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, normalised(orig)) {
		t.Fatal("refragmented pieces do not reassemble to the original")
	}
}

func TestFragmentEmitError(t *testing.T) {
	stop := errors.New("link down")
	calls := 0
	n, err := Fragment(packet(nil, 0, 17, 3000, 1), 1000, make([]byte, 1000), func([]byte) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 || calls != 2 {
		t.Fatalf("n=%d calls=%d err=%v", n, calls, err)
	}
	if _, err := Fragment(packet(nil, 0, 17, 3000, 1), 1000, make([]byte, 999), func([]byte) error { return nil }); !errors.Is(err, ErrBuffer) {
		t.Fatalf("short scratch: %v", err)
	}
}

// parseFragNeeded checks a reply from FragNeeded the way the sender's
// stack reads it and returns the MTU and the quoted octets.
func parseFragNeeded(r []byte) (mtu uint16, quoted []byte, err error) {
	hlen, total, err := header(r)
	if err != nil {
		return 0, nil, err
	}
	if hlen != HeaderLen || total != len(r) || Checksum(r[:hlen]) != 0 {
		return 0, nil, errors.New("bad reply header")
	}
	if r[9] != protoICMP || netip.AddrFrom4([4]byte(r[12:16])) != box {
		return 0, nil, errors.New("reply is not ICMP from the box")
	}
	m := r[hlen:]
	if len(m) < icmpHeaderLen || m[0] != 3 || m[1] != 4 || Checksum(m) != 0 {
		return 0, nil, fmt.Errorf("bad ICMP message %x", m)
	}
	if m[4] != 0 || m[5] != 0 {
		return 0, nil, errors.New("unused field not zero")
	}
	return binary.BigEndian.Uint16(m[6:8]), m[icmpHeaderLen:], nil
}

func TestFragNeeded(t *testing.T) {
	withSrc := func(p []byte, a ...byte) []byte { copy(p[12:16], a); return p }
	withDst := func(p []byte, a ...byte) []byte { copy(p[16:20], a); return p }
	tests := []struct {
		name   string
		pkt    []byte
		quoted int
		err    error
	}{
		{"UDP", packet(nil, flagDF, 17, 1280, 1), 28, nil},
		{"TCP with options", packet(optMixed, flagDF, 6, 1280, 1), 36 + 8, nil},
		{"short data", packet(nil, flagDF, 17, 3, 1), 23, nil},
		{"ICMP echo", packet(nil, flagDF, 1, 1280, 8), 28, nil},
		{"first fragment", packet(nil, flagMF, 17, 1280, 1), 28, nil},
		{"ICMP error", packet(nil, flagDF, 1, 1280, 3), 0, ErrAboutICMPError},
		{"ICMP unknown type", packet(nil, flagDF, 1, 1280, 42), 0, ErrAboutICMPError},
		{"ICMP without type", packet(nil, flagDF, 1, 0, 0), 0, ErrAboutICMPError},
		{"non-initial fragment", packet(nil, 100, 17, 1280, 1), 0, ErrAboutFragment},
		{"source zero", withSrc(packet(nil, flagDF, 17, 1280, 1), 0, 0, 0, 0), 0, ErrAboutSource},
		{"source loopback", withSrc(packet(nil, flagDF, 17, 1280, 1), 127, 0, 0, 1), 0, ErrAboutSource},
		{"source multicast", withSrc(packet(nil, flagDF, 17, 1280, 1), 224, 0, 0, 5), 0, ErrAboutSource},
		{"source broadcast", withSrc(packet(nil, flagDF, 17, 1280, 1), 255, 255, 255, 255), 0, ErrAboutSource},
		{"to multicast", withDst(packet(nil, flagDF, 17, 1280, 1), 239, 1, 2, 3), 0, ErrAboutDest},
		{"to broadcast", withDst(packet(nil, flagDF, 17, 1280, 1), 255, 255, 255, 255), 0, ErrAboutDest},
		{"malformed", []byte{0x45, 0, 0, 99}, 0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, MaxFragNeededLen)
			r, err := FragNeeded(buf, tt.pkt, box, 1200, 7)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				if errors.Is(tt.err, ErrAboutICMPError) && !errors.Is(err, ErrNoReply) {
					t.Fatal("refusal does not match ErrNoReply")
				}
				return
			}
			mtu, quoted, err := parseFragNeeded(r)
			if err != nil {
				t.Fatal(err)
			}
			if mtu != 1200 || !bytes.Equal(quoted, tt.pkt[:tt.quoted]) {
				t.Fatalf("mtu %d quoted %x", mtu, quoted)
			}
			if !bytes.Equal(r[16:20], tt.pkt[12:16]) || binary.BigEndian.Uint16(r[4:6]) != 7 {
				t.Fatalf("reply to %v id %d", r[16:20], binary.BigEndian.Uint16(r[4:6]))
			}
			if _, err := FragNeeded(buf[:len(r)-1], tt.pkt, box, 1200, 7); !errors.Is(err, ErrBuffer) {
				t.Fatalf("short buffer: %v", err)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	// RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
	if got := Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != ^uint16(0xddf2) {
		t.Fatalf("checksum %#04x", got)
	}
	if got := Checksum([]byte{0x01}); got != ^uint16(0x0100) {
		t.Fatalf("odd length: %#04x", got)
	}
}

// FuzzFragment: any input and MTU, no panic; whatever Fragment accepts
// comes out as fragments that fit and reassemble to the input.
func FuzzFragment(f *testing.F) {
	f.Add(packet(nil, 0, 17, 1280, 1), uint16(1200))
	f.Add(packet(optMixed, 0, 17, 2000, 5), uint16(576))
	f.Add(packet(optMixed, flagMF|3, 6, 900, 2), uint16(300))
	f.Add(packet(nil, flagDF, 17, 1280, 1), uint16(1200))
	f.Fuzz(func(t *testing.T, pkt []byte, mtu16 uint16) {
		mtu := int(mtu16)
		scratch := make([]byte, mtu)
		var frags [][]byte
		n, err := Fragment(pkt, mtu, scratch, func(f []byte) error {
			frags = append(frags, bytes.Clone(f))
			return nil
		})
		if err != nil {
			if n != 0 || len(frags) != 0 {
				t.Fatalf("error %v after %d fragments", err, n)
			}
			return
		}
		back, err := reassemble(frags, mtu)
		if err != nil {
			t.Fatal(err)
		}
		if want := normalised(pkt); !bytes.Equal(back, want) {
			t.Fatalf("reassembled\n%x\nwant\n%x", back, want)
		}
	})
}

// FuzzFragNeeded: any input, no panic; a reply parses back as a
// well-formed frag-needed quoting the input, and no reply is built for
// what RFC 1122 §3.2.2 forbids answering.
func FuzzFragNeeded(f *testing.F) {
	f.Add(packet(nil, flagDF, 17, 1280, 1), uint16(1200))
	f.Add(packet(optMixed, flagDF, 1, 100, 8), uint16(576))
	f.Add(packet(nil, flagDF, 1, 100, 3), uint16(576))
	f.Fuzz(func(t *testing.T, pkt []byte, mtu uint16) {
		r, err := FragNeeded(make([]byte, MaxFragNeededLen), pkt, box, mtu, 1)
		if err != nil {
			return
		}
		got, quoted, err := parseFragNeeded(r)
		if err != nil {
			t.Fatal(err)
		}
		hlen, total, _ := header(pkt)
		if got != mtu || !bytes.Equal(quoted, pkt[:min(total, hlen+8)]) {
			t.Fatalf("mtu %d quoted %x", got, quoted)
		}
		if binary.BigEndian.Uint16(pkt[6:8])&offsetMask != 0 || !singleHost([4]byte(pkt[12:16])) ||
			pkt[9] == protoICMP && !icmpQuery(pkt[hlen]) {
			t.Fatalf("replied to a packet RFC 1122 §3.2.2 forbids answering: %x", pkt[:hlen])
		}
	})
}

func BenchmarkFragment(b *testing.B) {
	for _, bc := range []struct {
		size, mtu int
	}{{1400, 1200}, {1500, 576}, {65535, 1400}} {
		b.Run(fmt.Sprintf("%d_to_%d", bc.size, bc.mtu), func(b *testing.B) {
			pkt := packet(nil, 0, 17, bc.size-HeaderLen, 1)
			scratch := make([]byte, bc.mtu)
			var sent int
			emit := func(f []byte) error { sent += len(f); return nil }
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Fragment(pkt, bc.mtu, scratch, emit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFragNeeded(b *testing.B) {
	pkt := packet(nil, flagDF, 6, 1380, 1)
	buf := make([]byte, MaxFragNeededLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FragNeeded(buf, pkt, box, 1200, 1); err != nil {
			b.Fatal(err)
		}
	}
}
