// Package board parses the declarative board profiles in board/<name>/board.toml.
//
// A board profile is the only place that knows a piece of hardware: which Debian kernel
// package boots it and with which command line, which modules the init loads (in order),
// which network interface is the WAN and which the LAN, the serial console, the watchdog,
// and the disk image layout. Both the image builder (cmd/mkfirmware) and the init (PID 1,
// which reads the copy embedded in the initramfs at /etc/pptpbox/board.toml) use it.
package board

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// FileName is the profile's file name inside a board folder.
const FileName = "board.toml"

// Board is one parsed and validated profile.
type Board struct {
	// Name is the folder name; it appears in image file names.
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// Arch is the GOARCH of the board (amd64 or arm64).
	Arch string `toml:"arch"`

	Kernel Kernel `toml:"kernel"`
	// Modules are loaded by the init in this order, each after its modules.dep dependencies.
	// Debian's modules.dep knows hard dependencies only, so soft dependencies (crc32c for
	// ext4, nls_* for vfat) are listed explicitly.
	Modules  []string `toml:"modules"`
	Console  Console  `toml:"console"`
	Watchdog Watchdog `toml:"watchdog"`
	NICs     []NIC    `toml:"nic"`
	Image    Image    `toml:"image"`
}

// Kernel names the Debian kernel package and how it is started.
type Kernel struct {
	// Package is a Debian binary package; a meta package such as linux-image-amd64 is
	// resolved to the versioned package it depends on at build time.
	Package string `toml:"package"`
	// DebArch is the Debian architecture of the package (amd64, arm64).
	DebArch string `toml:"deb_arch"`
	Cmdline string `toml:"cmdline"`
	// DTB is a device tree path relative to /usr/lib/linux-image-<kver>/ in the package,
	// installed next to the kernel and loaded by GRUB's devicetree command. Empty on boards
	// whose firmware provides the tree (ACPI x86, QEMU virt).
	DTB string `toml:"dtb"`
}

// Console is the serial console the init and the CLI run on.
type Console struct {
	Device string `toml:"device"` // e.g. ttyS0, ttyAMA0
	Baud   int    `toml:"baud"`
	// Login: the console asks for the password ([console] password_hash of the config)
	// before the CLI. Boards sold as boxes say true; the QEMU boards false (the kernel
	// command line's pptpbox.login=1 turns it on for tests).
	Login bool `toml:"login"`
}

// Watchdog is the hardware watchdog the init feeds. An empty Device means none.
type Watchdog struct {
	Module  string   `toml:"module"`
	Device  string   `toml:"device"`
	Timeout Duration `toml:"timeout"`
}

// NIC assigns a role to one network interface. The interface is chosen among those whose
// kernel driver is Driver (all, if empty) and, when PCI is set, whose PCI address is PCI;
// the candidates are sorted by Order ("pci": bus address, "mac": hardware address) and
// the Index-th one is taken. The init renames it to Name.
type NIC struct {
	Role   string `toml:"role"`
	Name   string `toml:"name"`
	Driver string `toml:"driver"`
	PCI    string `toml:"pci"`
	Order  string `toml:"order"`
	Index  int    `toml:"index"`
}

// Image is the disk image layout. Sizes are in MiB.
type Image struct {
	// DiskMiB is the whole image; the flash of the smallest supported box must hold it.
	DiskMiB int `toml:"disk_mib"`
	// BootMiB is the FAT32 boot partition (also the EFI system partition), sized for two
	// kernel+initramfs slots, A and B.
	BootMiB int `toml:"boot_mib"`
	// ConfigMiB is the FAT partition labelled CONFIG that holds pptpbox.toml.
	ConfigMiB int `toml:"config_mib"`
	// FirstMiB is where the first partition starts (default 1). Rockchip boards keep their
	// U-Boot in the first 16 MiB of the SD card, so their partitions start after it.
	FirstMiB int `toml:"first_mib"`
	// Loaders are GRUB platforms: i386-pc (legacy BIOS, SeaBIOS/coreboot), x86_64-efi,
	// arm64-efi (EDK2, U-Boot's EFI).
	Loaders []string `toml:"loaders"`
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Load reads dir/board.toml. The folder name must equal the profile's name.
func Load(dir string) (*Board, error) {
	file := filepath.Join(dir, FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	b, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	if base := filepath.Base(filepath.Clean(dir)); base != b.Name {
		return nil, fmt.Errorf("board: %s: name %q differs from its folder %q", file, b.Name, base)
	}
	return b, nil
}

// Parse decodes and validates a profile; file is used in error messages only.
// Unknown keys are errors, reported as file:line:key.
func Parse(file string, data []byte) (*Board, error) {
	var b Board
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&b)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("board: %s:%d: %s", file, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("board: %s: %w", file, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("board: %s:%d:%s: unknown key", file, lineOf(data, und[0]), und[0])
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("board: %s: %w", file, err)
	}
	return &b, nil
}

// lineOf finds the line on which the last element of key is written, for error messages.
func lineOf(data []byte, key toml.Key) int {
	last := key[len(key)-1]
	re := regexp.MustCompile(`(?m)^\s*"?` + regexp.QuoteMeta(last) + `"?\s*=`)
	if loc := re.FindIndex(data); loc != nil {
		return 1 + bytes.Count(data[:loc[0]], []byte("\n"))
	}
	return 0
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	ifnameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,15}$`) // IFNAMSIZ-1, no '/' or spaces
	pciRE    = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)
)

var knownLoaders = map[string]string{"i386-pc": "amd64", "x86_64-efi": "amd64", "arm64-efi": "arm64"}

// Validate checks the profile for consistency; errors name the offending key.
// It also fills the defaults: kernel.deb_arch, nic[].name and nic[].order.
func (b *Board) Validate() error {
	var p problems
	b.validateKernel(&p)
	modules := b.validateModules(&p)
	b.validateConsole(&p)
	b.validateWatchdog(&p, modules)
	b.validateNICs(&p)
	b.validateImage(&p)
	return errors.Join(p...)
}

// problems collects Validate's errors in the order found, each naming its key.
type problems []error

func (p *problems) bad(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// validateKernel checks name, arch and [kernel].
func (b *Board) validateKernel(p *problems) {
	if !nameRE.MatchString(b.Name) {
		p.bad("name", "%q: want lower-case letters, digits and dashes", b.Name)
	}
	if b.Arch != "amd64" && b.Arch != "arm64" {
		p.bad("arch", "%q: want amd64 or arm64", b.Arch)
	}
	if b.Kernel.Package == "" {
		p.bad("kernel.package", "missing")
	}
	if b.Kernel.DebArch == "" {
		b.Kernel.DebArch = b.Arch
	}
	if b.Kernel.DTB != "" && (strings.Contains(b.Kernel.DTB, "..") || filepath.IsAbs(b.Kernel.DTB)) {
		p.bad("kernel.dtb", "%q: want a relative path inside the kernel package's dtb folder", b.Kernel.DTB)
	}
}

// validateModules checks modules and returns the set of their normalised names.
func (b *Board) validateModules(p *problems) map[string]bool {
	seen := map[string]bool{}
	for i, m := range b.Modules {
		if m == "" || strings.ContainsAny(m, "/ ") {
			p.bad(fmt.Sprintf("modules[%d]", i), "%q is not a module name", m)
		}
		if seen[ModuleName(m)] {
			p.bad(fmt.Sprintf("modules[%d]", i), "%q listed twice", m)
		}
		seen[ModuleName(m)] = true
	}
	// A USB stick binds to usb-storage (or uas) but only becomes a block device through
	// the SCSI disk driver; Debian builds it as a module, and nothing loads it on demand.
	for _, usb := range []string{"usb_storage", "uas"} {
		if seen[usb] && !seen["sd_mod"] {
			p.bad("modules", "%s without sd_mod: a USB stick would never show a disk", usb)
		}
	}
	return seen
}

// validateConsole checks [console].
func (b *Board) validateConsole(p *problems) {
	if b.Console.Device == "" || strings.Contains(b.Console.Device, "/") {
		p.bad("console.device", "%q: want a device name such as ttyS0", b.Console.Device)
	}
	if b.Console.Baud <= 0 {
		p.bad("console.baud", "%d: want a positive speed", b.Console.Baud)
	}
}

// validateWatchdog checks [watchdog]; its module must be one of modules (as
// validateModules returned them).
func (b *Board) validateWatchdog(p *problems, modules map[string]bool) {
	if b.Watchdog.Device == "" {
		return
	}
	if !strings.HasPrefix(b.Watchdog.Device, "/dev/") {
		p.bad("watchdog.device", "%q: want a /dev path", b.Watchdog.Device)
	}
	if b.Watchdog.Timeout.Duration < 2*time.Second || b.Watchdog.Timeout.Duration > time.Hour {
		p.bad("watchdog.timeout", "%v: want between 2s and 1h", b.Watchdog.Timeout.Duration)
	}
	if b.Watchdog.Module != "" && !modules[ModuleName(b.Watchdog.Module)] {
		p.bad("watchdog.module", "%q is not in modules", b.Watchdog.Module)
	}
}

// validateNICs checks [[nic]]: one wan and one lan, each with a driver or a
// PCI address.
func (b *Board) validateNICs(p *problems) {
	roles := map[string]bool{}
	names := map[string]bool{}
	for i, n := range b.NICs {
		key := fmt.Sprintf("nic[%d]", i)
		if n.Role != "wan" && n.Role != "lan" {
			p.bad(key+".role", "%q: want wan or lan", n.Role)
		}
		if roles[n.Role] {
			p.bad(key+".role", "%q assigned twice", n.Role)
		}
		roles[n.Role] = true
		if n.Name == "" {
			b.NICs[i].Name = n.Role
		}
		if !ifnameRE.MatchString(b.NICs[i].Name) {
			p.bad(key+".name", "%q is not an interface name", b.NICs[i].Name)
		}
		if names[b.NICs[i].Name] {
			p.bad(key+".name", "%q used twice", b.NICs[i].Name)
		}
		names[b.NICs[i].Name] = true
		if n.PCI != "" && !pciRE.MatchString(n.PCI) {
			p.bad(key+".pci", "%q: want a PCI address like 0000:01:00.0", n.PCI)
		}
		if n.Order == "" {
			b.NICs[i].Order = "pci"
		}
		if o := b.NICs[i].Order; o != "pci" && o != "mac" {
			p.bad(key+".order", "%q: want pci or mac", o)
		}
		if n.Index < 0 {
			p.bad(key+".index", "%d: want >= 0", n.Index)
		}
		if n.Driver == "" && n.PCI == "" {
			p.bad(key, "needs a driver or a pci address: roles are never guessed")
		}
	}
	if !roles["wan"] || !roles["lan"] {
		p.bad("nic", "want exactly one wan and one lan")
	}
	b.validateMissingCard(p)
}

// validateMissingCard checks that a missing card can only ever cost the LAN its port. When
// the two roles share a rule (same driver, PCI address and order) the interfaces are told
// apart by index alone, and with one card absent the one left takes the lower index: that
// must be the WAN's, so the card left is firewalled as the WAN and runs a DHCP client,
// rather than serving DHCP and management on what may be the internet.
func (b *Board) validateMissingCard(p *problems) {
	for i, w := range b.NICs {
		if w.Role != "wan" {
			continue
		}
		for j, l := range b.NICs {
			if l.Role != "lan" || ModuleName(l.Driver) != ModuleName(w.Driver) || !strings.EqualFold(l.PCI, w.PCI) || l.Order != w.Order {
				continue
			}
			if l.Index < w.Index {
				p.bad(fmt.Sprintf("nic[%d].index", j), "%d is below the wan's (nic[%d].index %d) on the same rule: with a card missing the LAN would take the WAN's card", l.Index, i, w.Index)
			}
		}
	}
}

// validateImage checks [image]: the partitions fit the disk and every loader
// boots the board's arch.
func (b *Board) validateImage(p *problems) {
	im := b.Image
	if im.BootMiB < 40 {
		// FAT32 needs at least 65525 clusters; with 512-byte clusters that is ~33 MiB.
		p.bad("image.boot_mib", "%d: want >= 40 (FAT32 minimum plus room)", im.BootMiB)
	}
	if im.ConfigMiB < 1 {
		p.bad("image.config_mib", "%d: want >= 1", im.ConfigMiB)
	}
	// 1 MiB alignment before the first partition, 1 MiB BIOS boot partition, 1 MiB for the
	// backup GPT at the end.
	if im.FirstMiB < 0 {
		p.bad("image.first_mib", "%d: want >= 0", im.FirstMiB)
	}
	if need := max(im.FirstMiB, 1) + 2 + im.BootMiB + im.ConfigMiB; im.DiskMiB < need {
		p.bad("image.disk_mib", "%d: want >= %d to hold the partitions", im.DiskMiB, need)
	}
	if len(im.Loaders) == 0 {
		p.bad("image.loaders", "want at least one of i386-pc, x86_64-efi, arm64-efi")
	}
	for i, l := range im.Loaders {
		arch, ok := knownLoaders[l]
		if !ok {
			p.bad(fmt.Sprintf("image.loaders[%d]", i), "%q: want i386-pc, x86_64-efi or arm64-efi", l)
		} else if arch != b.Arch {
			p.bad(fmt.Sprintf("image.loaders[%d]", i), "%q does not boot %s", l, b.Arch)
		}
	}
}

// HasLoader reports whether the image includes the GRUB platform p.
func (b *Board) HasLoader(p string) bool {
	for _, l := range b.Image.Loaders {
		if l == p {
			return true
		}
	}
	return false
}

// ModuleName normalises a module name the way the kernel does: dashes and underscores are
// the same character in module names (kernel/params.c, parameqn), so "xhci-pci" is "xhci_pci".
func ModuleName(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(s, ".ko"), "-", "_")
}

// CmdlineConsole is the console= argument for the board's serial console.
func (b *Board) CmdlineConsole() string {
	return fmt.Sprintf("console=%s,%dn8", b.Console.Device, b.Console.Baud)
}
