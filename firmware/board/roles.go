package board

import (
	"fmt"
	"sort"
	"strings"
)

// Link is one network interface as the init finds it in /sys/class/net.
type Link struct {
	Name   string // current kernel name (eth0, enp1s0 ...)
	Driver string // basename of device/driver, e.g. virtio_net, igb
	PCI    string // PCI address of the device or of its nearest PCI ancestor; "" if none
	Path   string // resolved sysfs device path, used to order devices behind one bus
	MAC    string // lower-case hex with colons
}

// Assignment is a role resolved to a concrete interface.
type Assignment struct {
	NIC  NIC
	Link Link
}

// AssignRoles resolves every NIC rule of the board against the interfaces present. It is an
// error when a rule matches nothing or when two rules pick the same interface: a router must
// never put its LAN on the internet because a card was missing.
func (b *Board) AssignRoles(links []Link) ([]Assignment, error) {
	var out []Assignment
	taken := map[string]string{}
	for _, n := range b.NICs {
		var cand []Link
		for _, l := range links {
			if n.Driver != "" && ModuleName(l.Driver) != ModuleName(n.Driver) {
				continue
			}
			if n.PCI != "" && !strings.EqualFold(l.PCI, n.PCI) {
				continue
			}
			cand = append(cand, l)
		}
		sort.SliceStable(cand, func(i, j int) bool {
			if n.Order == "mac" {
				return cand[i].MAC < cand[j].MAC
			}
			if cand[i].Path != cand[j].Path {
				return cand[i].Path < cand[j].Path
			}
			return cand[i].Name < cand[j].Name
		})
		if n.Index >= len(cand) {
			return nil, fmt.Errorf("board %s: nic %s: want interface #%d with driver %q pci %q, found %d such (%s)",
				b.Name, n.Role, n.Index, n.Driver, n.PCI, len(cand), linkNames(links))
		}
		l := cand[n.Index]
		if other, ok := taken[l.Name]; ok {
			return nil, fmt.Errorf("board %s: nic %s: interface %s already has role %s", b.Name, n.Role, l.Name, other)
		}
		taken[l.Name] = n.Role
		out = append(out, Assignment{NIC: n, Link: l})
	}
	return out, nil
}

func linkNames(links []Link) string {
	if len(links) == 0 {
		return "no interfaces"
	}
	var s []string
	for _, l := range links {
		s = append(s, fmt.Sprintf("%s=%s@%s", l.Name, l.Driver, l.PCI))
	}
	return strings.Join(s, " ")
}
