package pid1

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/firmware/board"
)

var pciAddrRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// scanLinks lists the physical network interfaces (those with a device behind them).
func scanLinks() ([]board.Link, error) {
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil, err
	}
	var out []board.Link
	for _, e := range ents {
		base := filepath.Join("/sys/class/net", e.Name())
		dev, err := filepath.EvalSymlinks(filepath.Join(base, "device"))
		if err != nil {
			continue // lo, tun, bridges: no device
		}
		l := board.Link{Name: e.Name(), Path: dev}
		if drv, err := os.Readlink(filepath.Join(base, "device", "driver")); err == nil {
			l.Driver = filepath.Base(drv)
		}
		// The nearest PCI address in the device path: virtio-net's device is virtioN, a
		// child of the PCI function.
		parts := strings.Split(dev, "/")
		for i := len(parts) - 1; i >= 0; i-- {
			if pciAddrRE.MatchString(parts[i]) {
				l.PCI = parts[i]
				break
			}
		}
		if mac, err := os.ReadFile(filepath.Join(base, "address")); err == nil {
			l.MAC = strings.TrimSpace(string(mac))
		}
		out = append(out, l)
	}
	return out, nil
}

// ifreqName is struct ifreq with ifr_newname, for SIOCSIFNAME (netdevice(7)).
type ifreqName struct {
	Name    [unix.IFNAMSIZ]byte
	NewName [unix.IFNAMSIZ]byte
	_       [8]byte // the rest of the ifr_ifru union
}

// renameLink renames a (down) interface.
func renameLink(from, to string) error {
	if from == to {
		return nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var req ifreqName
	copy(req.Name[:], from)
	copy(req.NewName[:], to)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCSIFNAME, uintptr(unsafe.Pointer(&req))); errno != 0 {
		return fmt.Errorf("rename %s to %s: %w", from, to, errno)
	}
	return nil
}

// linkUp sets IFF_UP on an interface (used for lo; boxd owns the ports).
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: get flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: set up: %w", name, err)
	}
	return nil
}

// ifaceAddr is the first IPv4 prefix of an interface, or "none".
func ifaceAddr(name string) string {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return "none"
	}
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.String()
		}
	}
	return "none"
}
