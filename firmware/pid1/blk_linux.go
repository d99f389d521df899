package pid1

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pptpbox/pptpbox/firmware/fat"
)

// fatVolume is a block device holding a labelled FAT filesystem.
type fatVolume struct {
	Dev   string // /dev/vda3
	Label string
	USB   bool // behind a USB host controller
}

// scanFAT reads the boot sector of every block device and returns the FAT volumes.
func scanFAT() []fatVolume {
	ents, _ := os.ReadDir("/sys/class/block")
	var out []fatVolume
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			continue
		}
		sys, err := filepath.EvalSymlinks(filepath.Join("/sys/class/block", name))
		if err != nil {
			continue
		}
		f, err := os.Open("/dev/" + name)
		if err != nil {
			continue
		}
		buf := make([]byte, fat.SectorSize)
		_, err = f.ReadAt(buf, 0)
		f.Close()
		if err != nil {
			continue
		}
		v, err := fat.Parse(buf)
		if err != nil || v.Label == "" {
			continue
		}
		out = append(out, fatVolume{Dev: "/dev/" + name, Label: v.Label, USB: strings.Contains(sys, "/usb")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dev < out[j].Dev })
	return out
}

// usbStoragePending reports whether a USB mass-storage interface is bound to usb-storage
// but has no block device yet (the SCSI scan runs after usb-storage's delay_use).
func usbStoragePending() bool {
	ifaces, _ := filepath.Glob("/sys/bus/usb/drivers/usb-storage/*:*")
	for _, i := range ifaces {
		real, err := filepath.EvalSymlinks(i)
		if err != nil {
			continue
		}
		disks, _ := filepath.Glob(filepath.Join(real, "host*", "target*", "*", "block", "*"))
		if len(disks) == 0 {
			return true
		}
	}
	return false
}

// usbPresent reports whether any USB host controller is registered.
func usbPresent() bool {
	m, _ := filepath.Glob("/sys/bus/usb/devices/usb*")
	return len(m) > 0
}
