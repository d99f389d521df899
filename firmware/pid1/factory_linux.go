package pid1

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/pkg/cli"
)

// Factory reset: the CONFIG partition back to what a new image holds, the embedded default
// pptpbox.toml and nothing else (last-good.toml, lan-leases.json, failed-config.txt and the
// config store's files go). The boot slots are not touched. Two ways in: the console's
// `factory-reset` (asked twice), and pptpbox.factory_reset=1 on the kernel command line,
// which the boot menu's "factory reset" entry adds.

// resetConfigDir empties dir and writes the embedded default as its pptpbox.toml.
func resetConfigDir(dir string, def []byte) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return WriteFileAtomic(dir, ConfigName, def)
}

// factoryResetAtBoot runs before the config is chosen when the kernel command line asks.
func (b *box) factoryResetAtBoot() {
	if !b.cmd.Flag(optFactory) {
		return
	}
	def, err := os.ReadFile(defaultConfig)
	if err != nil {
		b.printBanner(fmt.Sprintf("factory reset: embedded default config: %v", err))
		return
	}
	var dev string
	deadline := time.Now().Add(5 * time.Second)
	for dev == "" && time.Now().Before(deadline) {
		for _, v := range scanFAT() {
			if v.Label == "CONFIG" && !v.USB {
				dev = v.Dev
			}
		}
		if dev == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if dev == "" {
		b.printBanner("factory reset: no CONFIG partition found")
		return
	}
	if err := unix.Mount(dev, flashMount, "vfat", unix.MS_NOATIME|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		b.printBanner(fmt.Sprintf("factory reset: mount %s: %v", dev, err))
		return
	}
	err = resetConfigDir(flashMount, def)
	unix.Sync()
	unix.Unmount(flashMount, 0)
	if err != nil {
		b.printBanner(fmt.Sprintf("factory reset: %v", err))
		return
	}
	b.printBanner("factory reset (" + optFactory + " on the kernel command line): CONFIG holds the embedded default config only; leases and last good config cleared")
}

// factoryConfirm is the console's two-step confirmation: `factory-reset` arms it,
// `factory-reset yes` within the window does it.
type factoryConfirm struct {
	mu    sync.Mutex
	armed time.Time
}

const factoryWindow = 30 * time.Second

func (b *box) factoryResetNode() *cli.Node {
	var fc factoryConfirm
	return &cli.Node{Name: "factory-reset", Help: "CONFIG back to the default config, leases and last good cleared; reboots (asks first)",
		Args: []cli.Arg{{Name: "yes", Help: "the confirmation, within " + factoryWindow.String() + " of the first factory-reset", Optional: true}},
		Run: func(_ context.Context, c *cli.Call) error {
			args, out := c.Args, c.Out
			fc.mu.Lock()
			armed := !fc.armed.IsZero() && time.Since(fc.armed) < factoryWindow
			fc.armed = time.Time{}
			if len(args) == 0 || args[0] != "yes" || !armed {
				fc.armed = time.Now()
				fc.mu.Unlock()
				fmt.Fprintf(out, "factory reset erases the CONFIG partition: pptpbox.toml becomes the default config (no users, LAN 192.168.1.1),\n"+
					"last-good.toml and the DHCP leases go; then the box reboots. Type `factory-reset yes` within %s to do it.\n", factoryWindow)
				return nil
			}
			fc.mu.Unlock()
			if b.flashDev == "" {
				return fmt.Errorf("factory reset: no CONFIG partition mounted")
			}
			def, err := os.ReadFile(defaultConfig)
			if err != nil {
				return fmt.Errorf("factory reset: embedded default config: %w", err)
			}
			// boxd first: it writes the leases when it stops.
			b.svc().stop(10 * time.Second)
			if err := resetConfigDir(flashMount, def); err != nil {
				return fmt.Errorf("factory reset: %w (boxd is stopped; reboot)", err)
			}
			unix.Sync()
			fmt.Fprintln(out, "factory reset: CONFIG holds the default config only; rebooting")
			b.lg.Info("factory reset from the console")
			b.requestShutdown("reboot")
			return nil
		}}
}
