package netcfg

import (
	"fmt"
	"os"
	"strings"
)

// SetSysctl writes value to the sysctl path ("net/ipv4/ip_forward", "1").
// net/* sysctls belong to the network namespace of the calling thread.
// Writing the value already there is a no-op, so read-only /proc/sys
// (a container) does not fail a setting that is already right.
func SetSysctl(path, value string) error {
	file, err := sysctlFile(path)
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(file); err == nil && strings.TrimSpace(string(cur)) == value {
		return nil
	}
	if err := os.WriteFile(file, []byte(value), 0); err != nil {
		return fmt.Errorf("netcfg: sysctl %s=%s: %w", path, value, err)
	}
	return nil
}

// Sysctl reads the sysctl path, without the trailing newline.
func Sysctl(path string) (string, error) {
	file, err := sysctlFile(path)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("netcfg: sysctl %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// DisableIPv6 turns IPv6 off on interface name, if the kernel has IPv6 at
// all. A PPTP link carries IPv4 only (IPCP): with IPv6 on, the kernel sends
// router solicitations and MLD reports into a TUN as soon as it is up.
func DisableIPv6(name string) error {
	path := "net/ipv6/conf/" + name + "/disable_ipv6"
	if _, err := Sysctl(path); err != nil {
		if _, err := os.Stat("/proc/sys/net/ipv6"); os.IsNotExist(err) {
			return nil // a kernel without IPv6
		}
		return err
	}
	return SetSysctl(path, "1")
}
