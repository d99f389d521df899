package pid1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/firmware/kmod"
)

// deviceBuses are the buses whose drivers the init skips when no device on the bus matches
// them: PCI (when the kernel enumerated PCI before the init started, so that no device
// can be missing yet), virtio (its devices appear as soon as the transport driver is
// loaded) and USB (a USB driver is useless without a host controller; a stick may enumerate
// later, so USB drivers load whenever a host controller is there).
var deviceBuses = []string{"pci", "virtio", "usb"}

// modLoader loads the board's modules: each after its modules.dep dependencies and its
// soft pre-dependencies (modules.softdep: libcrc32c after crc32c), independent ones in
// parallel, and drivers for devices that are absent not at all.
type modLoader struct {
	dir        string
	ix         *kmod.Index
	builtin    map[string]bool
	aliases    *kmod.Aliases       // nil without modules.alias: no module is skipped
	pre        map[string][]string // module -> module names to load first
	cmd        Cmdline
	logf       func(string, ...any)
	loaded     map[string]bool
	pciAtStart bool
}

// loadModules loads the board's modules and their dependencies. A module that fails is
// logged and skipped: a driver for absent hardware must not stop the box (sp5100_tco says
// ENODEV on a board without the timer). It returns how many modules it loaded and which of
// the board's modules it skipped for want of a device.
func loadModules(names []string, cmd Cmdline, logf func(string, ...any)) (loaded int, skipped []string, errs []error) {
	l := &modLoader{dir: filepath.Join("/lib/modules", kernelRelease()), cmd: cmd, logf: logf, loaded: map[string]bool{}, builtin: map[string]bool{}}
	df, err := os.Open(filepath.Join(l.dir, "modules.dep"))
	if err != nil {
		return 0, nil, []error{fmt.Errorf("modules: %w", err)}
	}
	l.ix, err = kmod.ParseDep(df)
	df.Close()
	if err != nil {
		return 0, nil, []error{err}
	}
	if f, err := os.Open(filepath.Join(l.dir, "modules.builtin")); err == nil {
		l.builtin, _ = kmod.ParseBuiltin(f)
		f.Close()
	}
	if f, err := os.Open(filepath.Join(l.dir, "modules.alias")); err == nil {
		if l.aliases, err = kmod.ParseAlias(f); err != nil {
			errs = append(errs, err)
		}
		f.Close()
	}
	var soft map[string][]string
	if f, err := os.Open(filepath.Join(l.dir, "modules.softdep")); err == nil {
		if soft, err = kmod.ParseSoftdep(f); err != nil {
			errs = append(errs, err)
		}
		f.Close()
	}
	l.pre = map[string][]string{}
	for m, names := range soft {
		for _, n := range names {
			if l.aliases != nil {
				l.pre[m] = append(l.pre[m], l.aliases.Resolve(n)...)
			} else {
				l.pre[m] = append(l.pre[m], kmod.Name(n))
			}
		}
	}
	l.pciAtStart = len(modaliases("pci")) > 0

	// Rounds: load what is wanted now, then look again, since loading a driver makes
	// devices appear (virtio_pci the virtio devices, a USB host controller its bus).
	pending := names
	for len(pending) > 0 {
		devs := map[string][]string{}
		for _, bus := range deviceBuses {
			devs[bus] = modaliases(bus)
		}
		now, later := l.wanted(pending, devs)
		if len(now) == 0 {
			break
		}
		n, e := l.load(now)
		loaded += n
		errs = append(errs, e...)
		pending = later
	}
	return loaded, pending, errs
}

// wanted splits names into the modules to load now and drivers with no device (yet);
// devs holds the modaliases of the devices on each of deviceBuses.
func (l *modLoader) wanted(names []string, devs map[string][]string) (now, later []string) {
	if l.aliases == nil {
		return names, nil
	}
	usbHost := len(devs["usb"]) > 0 // root hubs are devices on the USB bus
	for _, n := range names {
		pats := l.aliases.DeviceAliases(n, deviceBuses...)
		if pats == nil || (!l.pciAtStart && isBus(pats, "pci")) {
			now = append(now, n)
			continue
		}
		match := false
		for _, p := range pats {
			bus, _, _ := strings.Cut(p, ":")
			if bus == "usb" {
				match = match || usbHost
				continue
			}
			for _, d := range devs[bus] {
				if kmod.MatchAlias(p, d) {
					match = true
					break
				}
			}
		}
		if match {
			now = append(now, n)
		} else {
			later = append(later, n)
		}
	}
	return now, later
}

func isBus(pats []string, bus string) bool {
	for _, p := range pats {
		if strings.HasPrefix(p, bus+":") {
			return true
		}
	}
	return false
}

// load loads names with their dependencies, those not loaded yet.
func (l *modLoader) load(names []string) (loaded int, errs []error) {
	order, err := l.ix.LoadOrder(names, l.builtin)
	if err != nil {
		return 0, []error{err}
	}
	var todo []kmod.Module
	for _, m := range order {
		if !l.loaded[m.Path] {
			todo = append(todo, m)
			l.loaded[m.Path] = true
		}
	}
	var n atomic.Int32
	errs = kmod.Load(todo, l.pre, max(2, runtime.NumCPU()), func(m kmod.Module) error {
		f, err := os.Open(filepath.Join(l.dir, m.Path))
		if err != nil {
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		err = unix.FinitModule(int(f.Fd()), l.cmd.ModuleParams(m.Name), 0)
		f.Close()
		switch {
		case err == nil:
			n.Add(1)
		case errors.Is(err, unix.EEXIST):
		case errors.Is(err, unix.ENODEV):
			// Hardware-specific variants (crc32c_intel without SSE4.2) refuse politely.
			l.logf("module %s: no such hardware here", m.Name)
		default:
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		return nil
	})
	return int(n.Load()), errs
}

// modaliases lists the modaliases of the devices on a bus.
func modaliases(bus string) []string {
	paths, _ := filepath.Glob(filepath.Join("/sys/bus", bus, "devices", "*", "modalias"))
	var out []string
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			if s := strings.TrimSpace(string(b)); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
