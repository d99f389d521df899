package pid1

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/firmware/board"
)

// portTable is which role has which interface, and which roles have none (a card missing,
// a USB NIC not plugged in): the box serves without them, and a card that appears later
// takes its role (watchLatePorts).
type portTable struct {
	mu     sync.Mutex
	roles  map[string]string // role -> interface name
	absent []board.Absent
}

// name is the role's interface, "" if it has none.
func (p *portTable) name(role string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.roles[role]
}

// missing is the absent roles.
func (p *portTable) missing() []board.Absent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]board.Absent(nil), p.absent...)
}

func (p *portTable) isMissing(role string) bool {
	for _, a := range p.missing() {
		if a.NIC.Role == role {
			return true
		}
	}
	return false
}

func (p *portTable) set(role, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.roles == nil {
		p.roles = map[string]string{}
	}
	p.roles[role] = name
	for i, a := range p.absent {
		if a.NIC.Role == role {
			p.absent = append(p.absent[:i:i], p.absent[i+1:]...)
			break
		}
	}
}

// taken is the interface names that are ports.
func (p *portTable) taken() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := map[string]bool{}
	for _, n := range p.roles {
		t[n] = true
	}
	return t
}

// missingSummary is "lan" or "wan,lan" for the ready line ("" when nothing is missing).
func (p *portTable) missingSummary() string {
	var rs []string
	for _, a := range p.missing() {
		rs = append(rs, a.NIC.Role)
	}
	return strings.Join(rs, ",")
}

// assignNICs renames the ports to their roles. The drivers probe asynchronously, so it
// waits a little for the interfaces the board expects; a role whose card is not there
// by then is absent, and the box serves on the ports it has.
func (b *box) assignNICs() {
	if b.board == nil {
		return
	}
	var as []board.Assignment
	var absent []board.Absent
	var err error
	// Drivers probe asynchronously after their module loads: give them 5 s from then (not
	// from here: a box with a card missing would wait it all again after the entropy wait).
	deadline := b.modulesAt.Add(5 * time.Second)
	for {
		var links []board.Link
		links, err = scanLinks()
		if err == nil {
			as, absent, err = b.board.AssignRoles(links)
		}
		if (err == nil && len(absent) == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.lg.Error("network ports", "err", err)
		absent = nil
		for _, n := range b.board.NICs {
			absent = append(absent, board.Absent{NIC: n, Reason: err.Error()})
		}
		as = nil
	}
	b.ports.mu.Lock()
	b.ports.absent = absent
	b.ports.mu.Unlock()
	for _, a := range absent {
		b.lg.Warn("port missing: the box serves without it until its card appears", "role", a.NIC.Role, "name", a.NIC.Name, "why", a.Reason)
	}
	for _, a := range as {
		b.takeRole(a, "port")
	}
}

// takeRole renames an interface to its role's name.
func (b *box) takeRole(a board.Assignment, what string) bool {
	if err := renameLink(a.Link.Name, a.NIC.Name); err != nil {
		b.lg.Error("network ports", "err", err)
		return false
	}
	b.ports.set(a.NIC.Role, a.NIC.Name)
	b.lg.Info(what, "role", a.NIC.Role, "name", a.NIC.Name, "was", a.Link.Name, "driver", a.Link.Driver, "pci", a.Link.PCI, "mac", a.Link.MAC)
	return true
}

// watchLatePorts gives an absent role the card that appears for it later (a USB NIC
// plugged in, a driver that probed late): renamed to the role, boxd's link watcher sees it
// and brings the port up. It looks every two seconds while a role is absent; a scan is one
// read of /sys/class/net.
func (b *box) watchLatePorts() {
	if b.board == nil {
		return
	}
	for {
		absent := b.ports.missing()
		if len(absent) == 0 {
			return
		}
		time.Sleep(2 * time.Second)
		links, err := scanLinks()
		if err != nil {
			continue
		}
		for _, a := range b.board.AssignLate(links, absent, b.ports.taken()) {
			if b.takeRole(a, "port appeared") {
				fmt.Fprintf(b.console, "pptpbox port %s=%s appeared (was %s) uptime=%.1fs\n", a.NIC.Role, a.NIC.Name, a.Link.Name, uptime())
			}
		}
	}
}

// printPorts is the ports part of the console's status: each role's interface and address,
// or "missing" with why, and what boxd serves without (asked afresh).
func (b *box) printPorts(out io.Writer) {
	fmt.Fprintf(out, "wan %s\nlan %s\n", b.addr("wan"), b.addr("lan"))
	for _, a := range b.ports.missing() {
		fmt.Fprintf(out, "  %s port missing: %s\n", a.NIC.Role, a.Reason)
	}
	if !b.boxdReady() {
		return
	}
	for _, d := range b.boxdDegraded() {
		fmt.Fprintf(out, "  degraded: %s\n", d)
	}
}
