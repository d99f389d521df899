package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: no config text, however broken, panics the parser, the
// validator or the getters boxd calls on a valid config; and a rejected
// text gets an error that names the file.
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile("../../docs/examples/seed.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(routerTOML))
	f.Add([]byte("[pptp]\nremote_ip = \"0.0.0.0-255.255.255.255\"\n[[users]]\nname = \"a\"\npassword = \"b\"\nip = \"1.2.3.4\"\n"))
	f.Add([]byte("[lan.dhcp]\nrange = \"192.168.1.250-10\"\n[nat]\ntcp_mss = 1300\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("x.toml", data)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "x.toml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		c.PPTP.LocalAddr()
		c.PPTP.DNSAddrs()
		for i := range c.Users {
			c.Users[i].FixedAddr()
		}
		c.CheckInterfaces(func(string) bool { return true })
		c.Ports()
		c.DHCPServer()
		c.NATParams()
	})
}
