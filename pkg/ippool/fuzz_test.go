package ippool

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzParseRanges: whatever parses prints back to text that parses to the
// same ranges, and a pool over them hands out, reserves and takes back its
// first and last addresses without panicking.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{
		"10.79.97.10-200",
		"192.168.0.234-238, 192.168.0.245",
		"10.0.0.250-10.0.1.5",
		"10.9.0.0/30,10.9.0.7/32,10.9.0.8/31",
		"10.0.0.0/8",
		"0.0.0.0-0.0.0.1,255.255.255.255",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseRanges(s)
		if err != nil {
			return
		}
		var total uint64
		text := make([]string, len(rs))
		for i, r := range rs {
			if !r.First.Is4() || !r.Last.Is4() || r.Last.Less(r.First) {
				t.Fatalf("%q: bad range %v", s, r)
			}
			total += uint64(u32(r.Last)-u32(r.First)) + 1
			text[i] = r.String()
		}
		if total > MaxAddrs {
			t.Fatalf("%q: %d addresses, more than MaxAddrs", s, total)
		}
		again, err := ParseRanges(strings.Join(text, ","))
		if err != nil || !slices.Equal(rs, again) {
			t.Fatalf("%q -> %q -> %v, %v", s, text, again, err)
		}
		p := New(rs)
		if uint64(p.Size()) != total {
			t.Fatalf("%q: pool size %d, want %d", s, p.Size(), total)
		}
		first, last := rs[0].First, rs[len(rs)-1].Last
		if err := p.Reserve(last); err != nil {
			t.Fatalf("%q: reserve %v: %v", s, last, err)
		}
		if a, err := p.Get(); err != nil && total > 1 || err == nil && !p.Contains(a) {
			t.Fatalf("%q: get = %v, %v", s, a, err)
		}
		p.Put(first)
		p.Put(last)
		p.Put(netip.AddrFrom4([4]byte{255, 255, 255, 255}))
		if p.InUse() > 1 {
			t.Fatalf("%q: %d in use after putting back", s, p.InUse())
		}
	})
}
