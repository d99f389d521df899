package pid1

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// announceReady prints the one ready line once boxd answers on its control socket (or, with
// no CLI in the image, has stayed up for two seconds), with the ports' addresses.
func (b *box) announceReady() {
	for !b.boxdReady() {
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
		if (b.roles["wan"] == "" || ifaceAddr(b.roles["wan"]) != "none") && (b.roles["lan"] == "" || ifaceAddr(b.roles["lan"]) != "none") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	wan := b.addr("wan")
	fmt.Fprintf(b.console, "pptpbox ready version=%s wan=%s lan=%s board=%s config=%s uptime=%.1fs\n",
		b.version, wan, b.addr("lan"), b.boardName(), b.dec().Use.Source, uptime())
	b.readyLines.Add(1)
	if b.roles["wan"] != "" {
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

func (b *box) addr(role string) string {
	name := b.roles[role]
	if name == "" {
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
	up, since := b.svc().running()
	if !up {
		return false
	}
	if _, err := os.Stat(boxctlPath); err != nil {
		return time.Since(since) > 2*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := b.r.output(ctx, []string{boxctlPath, "ping"})
	return err == nil
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
