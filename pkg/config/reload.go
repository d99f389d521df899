package config

import "reflect"

// ForReload is what a running boxd applies when it reloads c while old is
// in force. Users, NAT, firewall, port forwards and [radius] (its servers,
// secrets, timers, accounting: boxd swaps the RADIUS client, see
// RadiusLive) change at once, and so does [console] (boxd does not use it:
// the init reads it at each console login); the sections that shape the
// running server and ports ([pptp], [wan], [lan] with [lan.dhcp], [log], [metrics], [time], [upgrade],
// whether the router or RADIUS runs at all, and [radius] while a
// Disconnect-Request listener is on) keep old's values until the next
// restart, and pending names the changed ones so that the reload can say
// so. Keeping them is what keeps the box
// consistent: a ruleset built from a new [lan] address while the LAN port
// still has the old one would masquerade a subnet nobody is on.
func (c *Config) ForReload(old *Config) (eff *Config, pending []string) {
	e := *c
	keep := []struct {
		name    string
		changed bool
		restore func()
	}{
		{"pptp", !reflect.DeepEqual(c.PPTP, old.PPTP), func() { e.PPTP = old.PPTP }},
		{"wan", !reflect.DeepEqual(c.WAN, old.WAN), func() { e.WAN = old.WAN }},
		{"lan", !reflect.DeepEqual(c.LAN, old.LAN), func() { e.LAN = old.LAN }},
		{"log", !reflect.DeepEqual(c.Log, old.Log), func() { e.Log = old.Log }},
		{"radius", !reflect.DeepEqual(c.Radius, old.Radius) && !RadiusLive(old.Radius, c.Radius), func() { e.Radius = old.Radius }},
		{"metrics", !reflect.DeepEqual(c.Metrics, old.Metrics), func() { e.Metrics = old.Metrics }},
		{"time", !reflect.DeepEqual(c.Time, old.Time), func() { e.Time = old.Time }},
		{"upgrade", !reflect.DeepEqual(c.Upgrade, old.Upgrade), func() { e.Upgrade = old.Upgrade }},
		{"router", c.router != old.router, func() { e.router = old.router }},
	}
	for _, k := range keep {
		if k.changed {
			k.restore()
			pending = append(pending, k.name)
		}
	}
	return &e, pending
}

// RadiusLive reports whether a running box can change [radius] from old to
// new without a restart: RADIUS stays on (or off), and no Disconnect-
// Request listener is involved (it is bound to the running client's
// sessions and the servers' addresses and secrets it started with).
func RadiusLive(old, new Radius) bool {
	return old.enabled == new.enabled && old.DAEListen == "" && new.DAEListen == ""
}
