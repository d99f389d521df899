package pid1

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// announceReady prints the one ready line once boxd answers on its control socket, with
// the ports' addresses.
func (b *box) announceReady() {
	for !b.boxdReady() {
		if why := b.svc().stoppedWhy(); why != "" {
			// No point waiting out the 90 s: it is not coming back by itself.
			b.printBanner("pptpbox not ready: boxd stopped: " + why)
			go b.printReadyWhenUp()
			return
		}
		if time.Since(b.start) > 90*time.Second {
			b.printBanner("pptpbox not ready: boxd is not answering; see `log`")
			go b.printReadyWhenUp()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.stage("boxd")
	b.printReady()
}

// printReadyWhenUp prints the ready line once boxd answers, however long that takes.
func (b *box) printReadyWhenUp() {
	for !b.boxdReady() {
		time.Sleep(time.Second)
	}
	b.printReady()
}

func (b *box) printReady() {
	// Give a DHCP lease on the WAN a moment; the line reports what is there.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		wan, lan := b.ports.name("wan"), b.ports.name("lan")
		if (wan == "" || ifaceAddr(wan) != "none") && (lan == "" || ifaceAddr(lan) != "none") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	wan := b.addr("wan")
	// What boxd serves without, in its words (what is off), else the init's own
	// view of the cards (a boxctl-less image).
	if deg := b.boxdDegraded(); len(deg) > 0 {
		for _, d := range deg {
			b.printBanner("pptpbox degraded: " + d)
		}
	} else {
		for _, a := range b.ports.missing() {
			b.printBanner(fmt.Sprintf("pptpbox degraded: no %s port (%s); serving without it until its card appears", a.NIC.Role, a.Reason))
		}
	}
	// A degraded box says so at the end of its ready line: missing=wan,lan.
	missing := ""
	if m := b.ports.missingSummary(); m != "" {
		missing = " missing=" + m
	}
	fmt.Fprintf(b.console, "pptpbox ready version=%s wan=%s lan=%s board=%s config=%s uptime=%.1fs%s%s\n",
		b.version, wan, b.addr("lan"), b.boardName(), b.dec().Use.Source, uptime(), b.readyFields(), missing)
	b.readyLines.Add(1)
	if b.ports.name("wan") != "" || b.ports.isMissing("wan") {
		b.followOnce.Do(func() { go b.followWAN(wan) })
	}
}

// followWAN prints a console line whenever the WAN address changes after the
// ready line: a DHCP lease slower than the ready line's wait, a new lease
// after the cable was replugged, or a lost one. The operator at the console
// learns the address the VPN clients must dial without asking.
func (b *box) followWAN(last string) {
	for {
		time.Sleep(2 * time.Second)
		cur := b.addr("wan")
		if line, ok := wanChange(last, cur, uptime()); ok {
			fmt.Fprint(b.console, line)
			b.lg.Info("wan address", "was", last, "now", cur)
			last = cur
		}
	}
}

// addr is "wan:10.0.2.15/24", "wan:none" (no address yet), "missing" (the board's card for
// the role is not there) or "none" (no board).
func (b *box) addr(role string) string {
	name := b.ports.name(role)
	if name == "" {
		if b.ports.isMissing(role) {
			return "missing"
		}
		return "none"
	}
	return name + ":" + ifaceAddr(name)
}

func (b *box) boardName() string {
	if b.board == nil {
		return "unknown"
	}
	return b.board.Name
}

func (b *box) boxdReady() bool {
	if up, _ := b.svc().running(); !up {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pong, err := control.NewClient("").Ping(ctx)
	if err != nil {
		return false
	}
	// What boxd serves without.
	b.degraded.Store(&pong.Degraded)
	return true
}

// boxdDegraded is what boxd said at its last ping that it serves without.
func (b *box) boxdDegraded() []string {
	if p := b.degraded.Load(); p != nil {
		return *p
	}
	return nil
}

// uptime is the time since the kernel started (/proc/uptime), the boot time the ready line
// reports.
func uptime() float64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return f
}
