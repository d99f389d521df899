package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestForReload(t *testing.T) {
	const base = `
[pptp]
local_ip = "10.79.97.1"
remote_ip = "10.79.97.10-200"

[wan]
interface = "wan"
mode = "dhcp"

[lan]
interface = "lan"
address = "192.168.1.1/24"

[nat]
tcp_mss = 1356

[[user]]
name = "alice"
password = "alice-pw"
`
	old, err := Parse("old.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(string) string
		pending []string
		check   func(t *testing.T, eff *Config)
	}{
		{"nothing changed", func(s string) string { return s }, nil, nil},
		{"users and nat apply at once",
			func(s string) string {
				return replace(t, replace(t, s, "tcp_mss = 1356", "tcp_mss = 1300"), `name = "alice"`, `name = "bob"`)
			},
			nil,
			func(t *testing.T, eff *Config) {
				if eff.NAT.TCPMSS.Value != 1300 || eff.Users[0].Name != "bob" {
					t.Errorf("mss %d user %q: want 1300, bob", eff.NAT.TCPMSS.Value, eff.Users[0].Name)
				}
			}},
		{"pptp passthrough applies at once",
			func(s string) string {
				return replace(t, s, "tcp_mss = 1356", "tcp_mss = 1356\npptp_passthrough = false")
			},
			nil,
			func(t *testing.T, eff *Config) {
				if !old.NATParams().PPTPPassthrough || eff.NATParams().PPTPPassthrough {
					t.Errorf("passthrough %v -> %v: want true (the default) -> false", old.NATParams().PPTPPassthrough, eff.NATParams().PPTPPassthrough)
				}
			}},
		{"console applies at once (the init reads it at each login)",
			func(s string) string { return s + "[console]\ndebug_shell = true\n" },
			nil,
			func(t *testing.T, eff *Config) {
				if !eff.Console.DebugShell {
					t.Error("debug_shell kept its old value")
				}
			}},
		{"a new lan address waits, and the rules keep the running subnet",
			func(s string) string {
				return replace(t, replace(t, s, "192.168.1.1/24", "192.168.50.1/24"), "tcp_mss = 1356", "tcp_mss = 1300")
			},
			[]string{"lan"},
			func(t *testing.T, eff *Config) {
				p := eff.NATParams()
				if p.LANPrefix.String() != "192.168.1.0/24" || p.ClampMSS != 1300 {
					t.Errorf("nat params lan %v mss %d: want the running 192.168.1.0/24 and the new 1300", p.LANPrefix, p.ClampMSS)
				}
			}},
		{"pptp and wan wait",
			func(s string) string {
				return replace(t, replace(t, s, "10.79.97.10-200", "10.79.98.10-200"), `mode = "dhcp"`, "mode = \"static\"\naddress = \"203.0.113.2/24\"")
			},
			[]string{"pptp", "wan"},
			func(t *testing.T, eff *Config) {
				if eff.PPTP.RemoteIP != old.PPTP.RemoteIP || eff.WAN.Mode != "dhcp" {
					t.Errorf("remote_ip %q wan mode %q: want the running ones", eff.PPTP.RemoteIP, eff.WAN.Mode)
				}
			}},
		{"radius switched on waits",
			func(s string) string {
				return s + "[radius]\ntimeout = \"2s\"\n[[radius.server]]\naddress = \"192.0.2.9\"\nsecret = \"s\"\n"
			},
			[]string{"radius"},
			func(t *testing.T, eff *Config) {
				if eff.RadiusEnabled() {
					t.Error("RADIUS is on in the effective config; it starts at a restart")
				}
			}},
		{"the router switched off waits",
			func(s string) string { return "[pptp]\nlocal_ip = \"10.79.97.1\"\nremote_ip = \"10.79.97.10-200\"\n" },
			// The [wan] and [lan] defaults equal the base file's; [time]
			// defaults to off without a WAN.
			[]string{"time", "router"},
			func(t *testing.T, eff *Config) {
				if !eff.RouterEnabled() {
					t.Error("the router is off in the effective config; it runs until a restart")
				}
				if !eff.Time.Enabled {
					t.Error("the SNTP client is off in the effective config; it runs until a restart")
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := Parse("new.toml", []byte(tc.edit(base)))
			if err != nil {
				t.Fatal(err)
			}
			eff, pending := nc.ForReload(old)
			if !slices.Equal(pending, tc.pending) {
				t.Errorf("pending %v, want %v", pending, tc.pending)
			}
			if tc.check != nil {
				tc.check(t, eff)
			}
			if eff == nc {
				t.Error("ForReload returned the new config itself, not a copy")
			}
		})
	}
}

// replace is strings.Replace that fails the test when old is absent, so an
// edited fixture cannot silently stop testing anything.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("fixture lacks %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

// TestForReloadRadius: with RADIUS on, a change of its servers, secrets or
// timers applies at once; switching it off, or any change while a
// Disconnect-Request listener is on, waits for a restart.
func TestForReloadRadius(t *testing.T) {
	const base = "[radius]\ntimeout = \"3s\"\n[[radius.server]]\naddress = \"192.0.2.9\"\nsecret = \"s\"\n"
	parse := func(s string) *Config {
		t.Helper()
		c, err := Parse("r.toml", []byte(s))
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := parse(base)
	for _, tc := range []struct {
		name, text string
		pending    []string
		radius     *Config // the [radius] eff must carry
	}{
		{"server and secret", replace(t, replace(t, base, "192.0.2.9", "192.0.2.10"), `"s"`, `"t"`), nil, nil},
		{"timeout", replace(t, base, "3s", "1s"), nil, nil},
		{"switched off", "[pptp]\n", []string{"radius"}, old},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := parse(tc.text)
			eff, pending := nc.ForReload(old)
			if !slices.Equal(pending, tc.pending) {
				t.Errorf("pending %v, want %v", pending, tc.pending)
			}
			want := nc
			if tc.radius != nil {
				want = tc.radius
			}
			if !reflect.DeepEqual(eff.Radius, want.Radius) {
				t.Errorf("radius %+v, want %+v", eff.Radius, want.Radius)
			}
		})
	}
	withDAE := parse(replace(t, base, "[radius]\n", "[radius]\ndae_listen = \"127.0.0.1:3799\"\n"))
	nc := parse(replace(t, replace(t, base, "[radius]\n", "[radius]\ndae_listen = \"127.0.0.1:3799\"\n"), "3s", "1s"))
	if eff, pending := nc.ForReload(withDAE); !slices.Equal(pending, []string{"radius"}) || eff.Radius.Timeout != withDAE.Radius.Timeout {
		t.Errorf("with a DAE listener: pending %v timeout %v, want [radius] kept", pending, eff.Radius.Timeout)
	}
}
