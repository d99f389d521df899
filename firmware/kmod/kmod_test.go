package kmod

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const sampleDep = `kernel/net/netfilter/nf_tables.ko: kernel/net/netfilter/nfnetlink.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/nfnetlink.ko:
kernel/lib/libcrc32c.ko:
kernel/net/netfilter/nft_masq.ko: kernel/net/netfilter/nf_tables.ko kernel/net/netfilter/nfnetlink.ko kernel/net/netfilter/nf_nat.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/nf_nat.ko: kernel/lib/libcrc32c.ko
kernel/fs/nls/nls_iso8859-1.ko:
kernel/drivers/usb/storage/usb-storage.ko.xz:
`

func names(ms []Module) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestLoadOrder(t *testing.T) {
	ix, err := ParseDep(strings.NewReader(sampleDep))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      []string
		builtin map[string]bool
		want    []string
		wantErr string
	}{
		{"deps first, once", []string{"nft_masq", "nf_tables"}, nil,
			[]string{"nfnetlink", "libcrc32c", "nf_tables", "nf_nat", "nft_masq"}, ""},
		{"dash and underscore alike", []string{"nls_iso8859_1", "usb_storage"}, nil, []string{"nls_iso8859_1", "usb_storage"}, ""},
		{"builtin skipped", []string{"virtio_pci", "nfnetlink"}, map[string]bool{"virtio_pci": true}, []string{"nfnetlink"}, ""},
		{"unknown", []string{"igb"}, nil, nil, "igb: not in modules.dep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ix.LoadOrder(tt.in, tt.builtin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), tt.want) {
				t.Errorf("got %v, want %v", names(got), tt.want)
			}
		})
	}
}

func TestParseDepErrors(t *testing.T) {
	for _, in := range []string{
		"no colon here\n",
		"kernel/a.ko: x\nkernel/b/a.ko: y\n",
		"kernel/a.txt:\n",
	} {
		if _, err := ParseDep(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestCycle(t *testing.T) {
	ix, err := ParseDep(strings.NewReader("a.ko: b.ko\nb.ko: a.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.LoadOrder([]string{"a"}, nil); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("got %v", err)
	}
}

// encode writes an index back in modules.dep form.
func encode(ix *Index) string {
	var b strings.Builder
	for _, m := range ix.byPath {
		fmt.Fprintf(&b, "%s: %s\n", m.Path, strings.Join(m.Deps, " "))
	}
	return b.String()
}

// FuzzParseDep: whatever parses must survive encode -> parse unchanged, and LoadOrder on any
// module must terminate with every dependency before its user.
func FuzzParseDep(f *testing.F) {
	f.Add(sampleDep)
	f.Add("a.ko: b.ko\nb.ko: a.ko\n")
	f.Fuzz(func(t *testing.T, in string) {
		ix, err := ParseDep(strings.NewReader(in))
		if err != nil {
			return
		}
		ix2, err := ParseDep(strings.NewReader(encode(ix)))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(ix.byPath, ix2.byPath) {
			t.Fatalf("round trip changed the index")
		}
		for name := range ix.byName {
			order, err := ix.LoadOrder([]string{name}, nil)
			if err != nil {
				continue
			}
			seen := map[string]bool{}
			for _, m := range order {
				for _, d := range m.Deps {
					if !seen[d] {
						t.Fatalf("%s loaded before its dependency %s", m.Path, d)
					}
				}
				seen[m.Path] = true
			}
		}
	})
}

func BenchmarkParseDep(b *testing.B) {
	var s strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&s, "kernel/m%d.ko: kernel/m%d.ko\n", i, i+1)
	}
	in := s.String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDep(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
