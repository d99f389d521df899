package netcfg

import (
	"fmt"
	"strings"
)

// sysctlFile maps a sysctl name in slash form ("net/ipv4/ip_forward") or
// dotted form without interface names ("net.ipv4.ip_forward") to its file
// under /proc/sys. Interface names may contain dots (eth0.100), so paths
// naming an interface must use the slash form.
func sysctlFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("netcfg: sysctl: empty name")
	}
	if !strings.Contains(path, "/") {
		path = strings.ReplaceAll(path, ".", "/")
	}
	for _, elem := range strings.Split(path, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return "", fmt.Errorf("netcfg: sysctl %q: bad path element %q", path, elem)
		}
	}
	return "/proc/sys/" + path, nil
}
