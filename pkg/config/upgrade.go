package config

import (
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/login"
)

// Upgrade is the [upgrade] section: boxd's HTTP endpoint for update files
// (`curl -T pptpbox.upd -u admin http://192.168.1.1:8080/`), which hands them to the
// init (firmware/README.md, "Upgrades"). Off unless listen is set; LAN side only, like
// [metrics], and always behind password_hash.
type Upgrade struct {
	// Listen is "host:port" with host an IP address: "192.168.1.1:8080". Empty: off.
	Listen string `toml:"listen"`
	// PasswordHash is the upload's password as a bcrypt hash (boxd hash-password);
	// required with Listen.
	PasswordHash string `toml:"password_hash"`
}

// UpgradeListen is the endpoint's address, and false when [upgrade] is off. Valid after
// Validate.
func (c *Config) UpgradeListen() (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(c.Upgrade.Listen)
	return ap, err == nil
}

func (c *Config) validateUpgrade() []error {
	u := c.Upgrade
	if u.PasswordHash != "" {
		if err := login.CheckHash(u.PasswordHash); err != nil {
			return []error{c.errorf("upgrade.password_hash", "%v", err)}
		}
	}
	if u.Listen == "" {
		return nil
	}
	if errs := c.validateLANListen("upgrade.listen", u.Listen, "the firmware is not replaced from the WAN side"); len(errs) > 0 {
		return errs
	}
	if u.PasswordHash == "" {
		return []error{c.errorf("upgrade.listen", "the upload endpoint needs upgrade.password_hash (make one with boxd hash-password)")}
	}
	return nil
}
