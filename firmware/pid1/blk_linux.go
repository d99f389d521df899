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

// usbSnapshot reads the USB bus from sysfs: the root hubs, the devices and interfaces, the
// storage interfaces (usb-storage or uas) that have no disk yet (the SCSI scan runs after
// usb-storage's delay_use), and the disks behind USB.
func usbSnapshot() USBSnapshot {
	var s USBSnapshot
	ents, _ := os.ReadDir("/sys/bus/usb/devices")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "usb") {
			s.Controllers++
		} else {
			s.Devices = append(s.Devices, e.Name())
		}
	}
	for _, drv := range []string{"usb-storage", "uas"} {
		ifaces, _ := filepath.Glob("/sys/bus/usb/drivers/" + drv + "/*:*")
		for _, i := range ifaces {
			real, err := filepath.EvalSymlinks(i)
			if err != nil {
				continue
			}
			disks, _ := filepath.Glob(filepath.Join(real, "host*", "target*", "*", "block", "*"))
			if len(disks) == 0 {
				s.Pending = append(s.Pending, filepath.Base(i))
			}
		}
	}
	blocks, _ := os.ReadDir("/sys/class/block")
	for _, e := range blocks {
		if sys, err := filepath.EvalSymlinks(filepath.Join("/sys/class/block", e.Name())); err == nil && strings.Contains(sys, "/usb") {
			s.Disks = append(s.Disks, e.Name())
		}
	}
	s.Devices, s.Pending, s.Disks = sortedCopy(s.Devices), sortedCopy(s.Pending), sortedCopy(s.Disks)
	return s
}
