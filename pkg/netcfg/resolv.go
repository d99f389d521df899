package netcfg

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// resolvConf renders resolv.conf(5) text for the WAN's DNS servers.
func resolvConf(dns []netip.Addr) []byte {
	var b strings.Builder
	b.WriteString("# written by pptpbox from the WAN configuration\n")
	for _, d := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", d)
	}
	return []byte(b.String())
}

// WriteResolvConf replaces path with a resolv.conf naming dns, through a
// temporary file and a rename so readers never see half a file.
func WriteResolvConf(path string, dns []netip.Addr) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".resolv-*")
	if err != nil {
		return fmt.Errorf("netcfg: resolv.conf: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(resolvConf(dns))
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		return fmt.Errorf("netcfg: resolv.conf: %v %v", werr, cerr)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("netcfg: resolv.conf: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("netcfg: resolv.conf: %w", err)
	}
	return nil
}
