package pid1

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/firmware/kmod"
)

func TestModulesWanted(t *testing.T) {
	a, err := kmod.ParseAlias(strings.NewReader(`alias pci:v00008086d00001000sv*sd*bc*sc*i* e1000
alias pci:v*d*sv*sd*bc0Csc03i30* xhci_pci
alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000001v* virtio_net
alias virtio:d00000004v* virtio_rng
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb_storage
alias crc32c crc32c_generic
alias fs-vfat vfat
`))
	if err != nil {
		t.Fatal(err)
	}
	board := []string{"crc32c_generic", "virtio_pci", "virtio_net", "virtio_rng", "xhci_pci", "usb_storage", "e1000", "vfat", "nf_tables"}
	virtioNIC := "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"
	tests := []struct {
		name       string
		pciAtStart bool
		devs       map[string][]string
		now, later []string
	}{
		{"first round: no virtio devices yet, no USB host", true,
			map[string][]string{"pci": {virtioNIC}},
			[]string{"crc32c_generic", "virtio_pci", "vfat", "nf_tables"},
			[]string{"virtio_net", "virtio_rng", "xhci_pci", "usb_storage", "e1000"}},
		{"after virtio_pci and an xHCI controller's root hub", true,
			map[string][]string{"pci": {virtioNIC, "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30"},
				"virtio": {"virtio:d00000001v00001AF4"}, "usb": {"usb:v1D6Bp0003d0601dc09dsc00dp03ic09isc00ip00in00"}},
			[]string{"crc32c_generic", "virtio_pci", "virtio_net", "xhci_pci", "usb_storage", "vfat", "nf_tables"},
			[]string{"virtio_rng", "e1000"}},
		{"no PCI devices when the init started: PCI drivers load", false,
			map[string][]string{},
			[]string{"crc32c_generic", "virtio_pci", "xhci_pci", "e1000", "vfat", "nf_tables"},
			[]string{"virtio_net", "virtio_rng", "usb_storage"}},
	}
	for _, tc := range tests {
		l := &modLoader{aliases: a, pciAtStart: tc.pciAtStart}
		now, later := l.wanted(board, tc.devs)
		if !reflect.DeepEqual(now, tc.now) || !reflect.DeepEqual(later, tc.later) {
			t.Errorf("%s: now %v later %v, want now %v later %v", tc.name, now, later, tc.now, tc.later)
		}
	}
	l := &modLoader{}
	if now, later := l.wanted(board, nil); !reflect.DeepEqual(now, board) || later != nil {
		t.Errorf("without modules.alias: now %v later %v, want every module now", now, later)
	}
}
