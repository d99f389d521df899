package ippool

import (
	"net/netip"
	"testing"
)

func TestParseRoute(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" is an error
	}{
		{"10.10.0.0/24", "10.10.0.0/24"},
		{"  10.10.0.0/24\t0.0.0.0  ", "10.10.0.0/24"},
		{"10.10.0.0/24 0.0.0.0 1", "10.10.0.0/24 0.0.0.0 1"},
		{"10.10.0.0/24 192.0.2.1 5 7", "10.10.0.0/24 192.0.2.1 5"},
		{"10.10.0.9", "10.10.0.9/32"},
		{"10.10.0.1/24", ""},
		{"0.0.0.0/0", ""},
		{"2001:db8::/32", ""},
		{"10.10.0.0/24 fe80::1", ""},
		{"10.10.0.0/24 0.0.0.0 x", ""},
		{"10.10.0.0/24 0.0.0.0 1 70000", ""},
		{"10.10.0.0/33", ""},
		{"", ""},
	} {
		r, err := ParseRoute(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("ParseRoute(%q) = %v, want an error", c.in, r)
			}
			continue
		}
		if err != nil || r.String() != c.want {
			t.Errorf("ParseRoute(%q) = %q, %v; want %q", c.in, r, err, c.want)
		}
	}
	r, _ := ParseRoute("10.10.0.0/24 192.0.2.1")
	if r.Gateway != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("gateway %v", r.Gateway)
	}
}

// FuzzParseRoute: whatever parses is a masked IPv4 prefix, not the
// default route, and prints back to text that parses to the same route.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{
		"10.10.0.0/24", "10.10.0.0/24 0.0.0.0 1", "192.168.7.0/24 10.0.0.1 2 3",
		"10.1.2.3", "10.10.0.1/24", "0.0.0.0/0", "::/0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoute(s)
		if err != nil {
			return
		}
		if !r.Prefix.Addr().Is4() || r.Prefix.Masked() != r.Prefix || r.Prefix.Bits() == 0 {
			t.Fatalf("ParseRoute(%q) = %v", s, r.Prefix)
		}
		if r.Gateway.IsValid() && (r.Gateway.IsUnspecified() || !r.Gateway.Is4()) {
			t.Fatalf("ParseRoute(%q): gateway %v", s, r.Gateway)
		}
		back, err := ParseRoute(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRoute(%q) = %q, which reads back as %v, %v", s, r, back, err)
		}
	})
}
