package kmod

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const sampleAlias = `# Aliases extracted from modules themselves.
alias pci:v00008086d00001000sv*sd*bc*sc*i* e1000
alias pci:v*d*sv*sd*bc0Csc03i30* xhci_pci
alias virtio:d00000001v* virtio_net
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb_storage
alias cpu:type:x86,ven*fam*mod*:feature:*0094* crc32c_intel
alias crc32c crc32c_intel
alias crc32c crc32c_generic
alias crypto-crc32c crc32c_generic
alias fs-vfat vfat
`

const sampleSoftdep = `# Soft dependencies extracted from modules themselves.
softdep libcrc32c pre: crc32c
softdep nfsd pre: crypto-md5 post: crypto-sha256
softdep only-post post: foo
`

func TestAliases(t *testing.T) {
	a, err := ParseAlias(strings.NewReader(sampleAlias))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Resolve("crc32c"), []string{"crc32c_intel", "crc32c_generic"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve(crc32c) = %v, want %v", got, want)
	}
	if got, want := a.Resolve("nls-cp437"), []string{"nls_cp437"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve(nls-cp437) = %v, want %v (no alias: the module of that name)", got, want)
	}
	pciVirtio := []string{"pci", "virtio"}
	for _, tc := range []struct {
		module string
		buses  []string
		want   bool
	}{
		{"e1000", pciVirtio, true},
		{"virtio_net", pciVirtio, true},
		{"usb_storage", pciVirtio, false},
		{"usb_storage", []string{"usb"}, true},
		{"crc32c_intel", append(pciVirtio, "cpu"), false}, // also the crc32c algorithm
		{"vfat", pciVirtio, false},
		{"nf_tables", pciVirtio, false}, // no aliases at all
	} {
		if got := a.DeviceAliases(tc.module, tc.buses...) != nil; got != tc.want {
			t.Errorf("DeviceAliases(%s, %v) = %v, want %v", tc.module, tc.buses, got, tc.want)
		}
	}
	pats := a.DeviceAliases("xhci_pci", "pci")
	if !MatchAlias(pats[0], "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30") {
		t.Errorf("qemu-xhci's modalias does not match %s", pats[0])
	}
	if MatchAlias(pats[0], "pci:v00008086d00007020sv00001AF4sd00001100bc0Csc03i00") {
		t.Errorf("a UHCI controller matches %s", pats[0])
	}
	for _, bad := range []string{"alias pci:v*\n", "alias [ x\n", "softdep x y\n"} {
		if _, err := ParseAlias(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAlias(%q) succeeded", bad)
		}
	}
}

func TestSoftdep(t *testing.T) {
	sd, err := ParseSoftdep(strings.NewReader(sampleSoftdep))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"libcrc32c": {"crc32c"}, "nfsd": {"crypto-md5"}}
	if !reflect.DeepEqual(sd, want) {
		t.Errorf("ParseSoftdep = %v, want %v", sd, want)
	}
	for _, bad := range []string{"softdep\n", "softdep x y\n", "alias a b\n", "softdep pre: x\n"} {
		if _, err := ParseSoftdep(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSoftdep(%q) succeeded", bad)
		}
	}
}

func TestLoadParallel(t *testing.T) {
	ix, err := ParseDep(strings.NewReader(sampleDep + "kernel/crypto/crc32c_generic.ko:\n"))
	if err != nil {
		t.Fatal(err)
	}
	order, err := ix.LoadOrder([]string{"nft_masq", "crc32c_generic", "nls_iso8859-1", "usb-storage"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pre := map[string][]string{"libcrc32c": {"crc32c_generic"}}
	var mu sync.Mutex
	var loaded []string
	var running, most atomic.Int32
	errs := Load(order, pre, 2, func(m Module) error {
		n := running.Add(1)
		for {
			old := most.Load()
			if n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		mu.Lock()
		loaded = append(loaded, m.Name)
		mu.Unlock()
		return nil
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(loaded) != len(order) {
		t.Fatalf("loaded %v, want all of %v", loaded, names(order))
	}
	if most.Load() > 2 {
		t.Errorf("%d loads at once, want at most 2", most.Load())
	}
	pos := func(n string) int { return slices.Index(loaded, n) }
	for _, m := range order {
		for _, d := range m.Deps {
			if pos(Name(d)) > pos(m.Name) {
				t.Errorf("%s loaded before its dependency %s: %v", m.Name, Name(d), loaded)
			}
		}
	}
	// crc32c_generic comes after libcrc32c in order: a soft dependency on a later module is
	// not waited for (no cycles), so only check the case where it comes first.
	order2, _ := ix.LoadOrder([]string{"crc32c_generic", "nf_tables"}, nil)
	loaded = nil
	Load(order2, pre, 4, func(m Module) error {
		if m.Name == "crc32c_generic" {
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		loaded = append(loaded, m.Name)
		mu.Unlock()
		return nil
	})
	if pos("crc32c_generic") > pos("libcrc32c") {
		t.Errorf("libcrc32c loaded before its soft dependency crc32c_generic: %v", loaded)
	}

	// A failed dependency: its dependents are not tried, the others are.
	var tried []string
	errs = Load(order, nil, 3, func(m Module) error {
		mu.Lock()
		tried = append(tried, m.Name)
		mu.Unlock()
		if m.Name == "nf_nat" {
			return errors.New("boom")
		}
		return nil
	})
	if slices.Contains(tried, "nft_masq") {
		t.Errorf("nft_masq tried although nf_nat failed: %v", tried)
	}
	if !slices.Contains(tried, "nls_iso8859_1") || len(errs) != 2 {
		t.Errorf("tried %v, errors %v; want the unrelated modules tried and 2 errors (nf_nat, nft_masq)", tried, errs)
	}
}

func FuzzParseAlias(f *testing.F) {
	f.Add(sampleAlias)
	f.Add("alias [ x\n")
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ParseAlias(strings.NewReader(in))
		if err != nil {
			return
		}
		for m, pats := range a.byModule {
			for _, p := range pats {
				MatchAlias(p, m)
				if got := a.Resolve(p); len(got) == 0 {
					t.Fatalf("Resolve(%q) empty", p)
				}
			}
			a.DeviceAliases(m, "pci")
		}
	})
}

func FuzzParseSoftdep(f *testing.F) {
	f.Add(sampleSoftdep)
	f.Add("softdep x pre: a b post: c pre: d\n")
	f.Fuzz(func(t *testing.T, in string) {
		sd, err := ParseSoftdep(strings.NewReader(in))
		if err != nil {
			return
		}
		for m, pre := range sd {
			if m == "" || len(pre) == 0 {
				t.Fatalf("module %q with pre %v", m, pre)
			}
		}
	})
}
