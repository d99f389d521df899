package gre

import (
	"testing"

	"golang.org/x/net/bpf"
)

// TestShardFilter runs the shard filters in x/net/bpf's interpreter over
// IPv4 packets with and without options: every PPTP packet is kept by the
// filter of Shard(call ID) alone, and anything else (another GRE version,
// no key, another protocol, a header cut short) by shard 0's alone.
func TestShardFilter(t *testing.T) {
	ipv4 := func(ihl int, gre []byte) []byte {
		p := make([]byte, 4*ihl, 4*ihl+len(gre))
		p[0] = 0x40 | byte(ihl)
		p[9] = 47
		return append(p, gre...)
	}
	pptp := func(id uint16) []byte {
		return AppendHeader(nil, Header{CallID: id, HasSeq: true, Seq: 7, PayloadLen: 4})
	}
	for _, n := range []int{2, 3, 16} {
		vms := make([]*bpf.VM, n)
		for k := range vms {
			vm, err := bpf.NewVM(shardFilter(k, n))
			if err != nil {
				t.Fatal(err)
			}
			vms[k] = vm
		}
		keptBy := func(p []byte) []int {
			var ks []int
			for k, vm := range vms {
				got, err := vm.Run(p)
				if err != nil {
					t.Fatalf("n=%d shard %d: %v", n, k, err)
				}
				if got != 0 {
					ks = append(ks, k)
				}
			}
			return ks
		}
		for _, ihl := range []int{5, 6, 15} {
			for _, id := range []uint16{0, 1, 2, 3, 17, 0xfffe, 0xffff} {
				p := ipv4(ihl, append(pptp(id), 0xff, 0x03, 0x00, 0x21))
				if ks := keptBy(p); len(ks) != 1 || ks[0] != Shard(id, n) {
					t.Errorf("n=%d ihl=%d call %d: kept by %v, want [%d]", n, ihl, id, ks, Shard(id, n))
				}
			}
			notPPTP := map[string][]byte{
				"version 0":   {0x30, 0x00, 0x88, 0x0b, 0, 4, 0, 1},
				"no key":      {0x10, 0x01, 0x88, 0x0b, 0, 4, 0, 1},
				"IPv4 in GRE": {0x30, 0x01, 0x08, 0x00, 0, 4, 0, 1},
				"7 bytes":     {0x30, 0x01, 0x88, 0x0b, 0, 4, 0},
				"empty":       {},
			}
			for name, g := range notPPTP {
				if ks := keptBy(ipv4(ihl, g)); len(ks) != 1 || ks[0] != 0 {
					t.Errorf("n=%d ihl=%d %s: kept by %v, want [0]", n, ihl, name, ks)
				}
			}
		}
	}
}
