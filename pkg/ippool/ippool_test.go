package ippool

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRanges(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "10.79.97.10-200", want: "10.79.97.10-10.79.97.200"},
		{in: "192.168.0.234-238,192.168.0.245", want: "192.168.0.234-192.168.0.238 192.168.0.245"},
		{in: "10.0.0.250-10.0.1.5", want: "10.0.0.250-10.0.1.5"},
		{in: "10.9.0.0/30", want: "10.9.0.1-10.9.0.2"},
		{in: "10.9.0.7/32", want: "10.9.0.7"},
		{in: "", err: "empty"},
		{in: "10.79.97.10-300", err: "octet"},
		{in: "10.79.97.10-5", err: "before"},
		{in: "10.79.97.x", err: "not an IPv4"},
		{in: "::1", err: "not an IPv4"},
		{in: "10.0.0.1-10,10.0.0.5", err: "overlaps"},
		{in: "10.0.0.5,10.0.0.1-10", err: "overlaps"},
		{in: "10.0.0.0-10.255.255.255", want: "10.0.0.0-10.255.255.255"},
		{in: "0.0.0.0-255.255.255.255", err: "over the limit"},
		{in: "0.0.0.0/0", err: "over the limit"},
		{in: "10.0.0.0-10.255.255.255,11.0.0.1", err: "over the limit"},
	} {
		rs, err := ParseRanges(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRanges(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRanges(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ParseRanges(%q) = %v, want %s", tc.in, got, tc.want)
		}
	}
}

func TestPoolGetPutReserve(t *testing.T) {
	rs, err := ParseRanges("10.0.0.1-3,10.0.1.9")
	if err != nil {
		t.Fatal(err)
	}
	p := New(rs)
	if p.Size() != 4 {
		t.Fatalf("size %d", p.Size())
	}
	if err := p.Reserve(netip.MustParseAddr("10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve(netip.MustParseAddr("10.0.0.2")); err == nil {
		t.Fatal("double reserve accepted")
	}
	var got []string
	for i := 0; i < 3; i++ {
		a, err := p.Get()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if strings.Join(got, " ") != "10.0.0.1 10.0.0.3 10.0.1.9" {
		t.Fatalf("got %v", got)
	}
	if _, err := p.Get(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("exhausted pool: %v", err)
	}
	p.Put(netip.MustParseAddr("10.0.0.3"))
	p.Put(netip.MustParseAddr("10.0.0.3")) // double put is harmless
	p.Put(netip.MustParseAddr("172.16.0.1"))
	if p.InUse() != 3 {
		t.Fatalf("in use %d", p.InUse())
	}
	if a, _ := p.Get(); a.String() != "10.0.0.3" {
		t.Fatalf("reuse got %s", a)
	}
	if err := p.Reserve(netip.MustParseAddr("172.16.0.1")); err != nil {
		t.Fatal("address outside the pool must be accepted untracked")
	}
}

func TestPrefixes(t *testing.T) {
	rs, _ := ParseRanges("10.79.97.10-200")
	var got []string
	for _, p := range Prefixes(rs) {
		got = append(got, p.String())
	}
	want := "10.79.97.10/31 10.79.97.12/30 10.79.97.16/28 10.79.97.32/27 10.79.97.64/26 10.79.97.128/26 10.79.97.192/29 10.79.97.200/32"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v", got)
	}
}

func BenchmarkGetPut(b *testing.B) {
	rs, _ := ParseRanges("10.0.0.0/16")
	p := New(rs)
	for i := 0; i < 30000; i++ {
		p.Get()
	}
	b.ReportAllocs()
	for b.Loop() {
		a, err := p.Get()
		if err != nil {
			b.Fatal(err)
		}
		p.Put(a)
	}
}
