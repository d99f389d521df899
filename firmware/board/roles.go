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

// Absent is a role whose rule matched no interface: a card missing, a USB NIC unplugged,
// an image booted with fewer NICs. The box runs without that port.
type Absent struct {
	NIC    NIC
	Reason string // what was looked for and what was there
}

// AssignRoles resolves every NIC rule of the board against the interfaces present. A rule
// that matches nothing leaves its role absent (the box serves on the ports it has); two
// rules picking the same interface is an error and assigns nothing: a router must never put
// its LAN on the internet because of a profile mistake. Validate makes sure that a card
// missing among cards told apart only by index can cost the LAN its port, never the WAN.
func (b *Board) AssignRoles(links []Link) ([]Assignment, []Absent, error) {
	var out []Assignment
	var absent []Absent
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
		sortLinks(cand, n.Order)
		if n.Index >= len(cand) {
			absent = append(absent, Absent{NIC: n, Reason: fmt.Sprintf("want interface #%d with driver %q pci %q, found %d such (%s)",
				n.Index, n.Driver, n.PCI, len(cand), linkNames(links))})
			continue
		}
		l := cand[n.Index]
		if other, ok := taken[l.Name]; ok {
			return nil, nil, fmt.Errorf("board %s: nic %s: interface %s already has role %s", b.Name, n.Role, l.Name, other)
		}
		taken[l.Name] = n.Role
		out = append(out, Assignment{NIC: n, Link: l})
	}
	return out, absent, nil
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

// AssignLate resolves the absent roles against links that appeared after boot (a USB NIC
// plugged in). A role that has its port keeps it, whatever the new card's place in the
// order: a running port never changes role. An absent role takes the first interface its
// rule matches that is not a port already (taken: the current port names), in the rule's
// order, so the index no longer counts the cards that are there.
func (b *Board) AssignLate(links []Link, absent []Absent, taken map[string]bool) []Assignment {
	var out []Assignment
	used := map[string]bool{}
	for _, a := range absent {
		n := a.NIC
		var cand []Link
		for _, l := range links {
			if taken[l.Name] || used[l.Name] {
				continue
			}
			if n.Driver != "" && ModuleName(l.Driver) != ModuleName(n.Driver) {
				continue
			}
			if n.PCI != "" && !strings.EqualFold(l.PCI, n.PCI) {
				continue
			}
			cand = append(cand, l)
		}
		if len(cand) == 0 {
			continue
		}
		sortLinks(cand, n.Order)
		used[cand[0].Name] = true
		out = append(out, Assignment{NIC: n, Link: cand[0]})
	}
	return out
}

// sortLinks puts a rule's candidates in its order: by MAC, or by device path (the PCI
// order), then name.
func sortLinks(cand []Link, order string) {
	sort.SliceStable(cand, func(i, j int) bool {
		if order == "mac" {
			return cand[i].MAC < cand[j].MAC
		}
		if cand[i].Path != cand[j].Path {
			return cand[i].Path < cand[j].Path
		}
		return cand[i].Name < cand[j].Name
	})
}
