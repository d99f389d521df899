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
