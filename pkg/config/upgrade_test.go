package config

import (
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/login"
)

func TestUpgradeSection(t *testing.T) {
	h, err := login.Hash("upgrade-pw")
	if err != nil {
		t.Fatal(err)
	}
	lan := "[lan]\naddress = \"192.168.1.1/24\"\n"
	c, err := parseRouter(t, lan)
	if err != nil {
		t.Fatal(err)
	}
	if ap, on := c.UpgradeListen(); on {
		t.Errorf("upgrade endpoint on by default: %v", ap)
	}
	c, err = parseRouter(t, lan+"[upgrade]\nlisten = \"192.168.1.1:8080\"\npassword_hash = \""+h+"\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if ap, on := c.UpgradeListen(); !on || ap.String() != "192.168.1.1:8080" {
		t.Errorf("listen %v %v", ap, on)
	}
	wan := "[wan]\nmode = \"static\"\naddress = \"203.0.113.2/24\"\n"
	for _, tc := range []struct{ toml, want string }{
		{lan + "[upgrade]\nlisten = \"192.168.1.1:8080\"\n",
			"x.toml:4: upgrade.listen: the upload endpoint needs upgrade.password_hash (make one with boxd hash-password)"},
		{lan + "[upgrade]\nlisten = \"192.168.1.1:8080\"\npassword_hash = \"secret\"\n",
			"x.toml:5: upgrade.password_hash: not a bcrypt hash"},
		{wan + lan + "[upgrade]\nlisten = \"203.0.113.2:8080\"\npassword_hash = \"" + h + "\"\n",
			"x.toml:7: upgrade.listen: 203.0.113.2 is the WAN port's address: the firmware is not replaced from the WAN side, use the LAN address (192.168.1.1) or 127.0.0.1"},
		{lan + "[upgrade]\nlisten = \"0.0.0.0:8080\"\npassword_hash = \"" + h + "\"\n",
			"x.toml:4: upgrade.listen: 0.0.0.0 listens on every address"},
		{lan + "[upgrade]\nport = 8080\n", "x.toml:4: upgrade.port: unknown key"},
	} {
		_, err := parseRouter(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.toml, err, tc.want)
		}
	}
	// A reload keeps the running endpoint until the restart, and names it.
	old, _ := parseRouter(t, lan)
	eff, pending := c.ForReload(old)
	if eff.Upgrade.Listen != "" || strings.Join(pending, ",") != "upgrade" {
		t.Errorf("reload: %+v %v", eff.Upgrade, pending)
	}
}
