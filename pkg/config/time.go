package config

import (
	"net"
	"net/netip"
	"regexp"
	"strconv"
)

// Time is the [time] section: the SNTP client that sets the clock (log
// timestamps, RADIUS Event-Timestamp and the Disconnect-Request replay
// window depend on it).
type Time struct {
	// Enabled defaults to on when boxd runs the ports (the config has
	// router sections, so a WAN), off otherwise: a plain host keeps its
	// own time daemon.
	Enabled bool `toml:"enabled"`
	// Servers are asked in order: "host" or "host:port" (port 123).
	Servers []string `toml:"servers"`
}

// maxTimeServers bounds [time] servers: one round asks them in turn.
const maxTimeServers = 8

func defaultTime() Time { return Time{Enabled: true, Servers: []string{"pool.ntp.org"}} }

// hostnameRe is an RFC 1123 host name.
var hostnameRe = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

func (c *Config) validateTime() []error {
	t := &c.Time
	if !t.Enabled {
		return nil
	}
	var errs []error
	if len(t.Servers) == 0 || len(t.Servers) > maxTimeServers {
		errs = append(errs, c.errorf("time.servers", "give 1 to %d servers (or enabled = false), got %d", maxTimeServers, len(t.Servers)))
	}
	for _, s := range t.Servers {
		if msg := checkHostPort(s, true); msg != "" {
			errs = append(errs, c.errorf("time.servers", "%q: %s", s, msg))
		}
	}
	return errs
}

// checkHostPort checks "host[:port]" (port optional when portOptional);
// host is an IP address or a host name. It returns what is wrong, or "".
func checkHostPort(s string, portOptional bool) string {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if !portOptional {
		return "want address:port"
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return "bad port " + strconv.Quote(port)
		}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if len(host) > 253 || !hostnameRe.MatchString(host) {
		return "not an IP address or host name"
	}
	return ""
}

// validateSyslog checks [log] syslog: an IP address and a port (boxd
// sends from start, before any name could be resolved).
func (c *Config) validateSyslog() []error {
	s := c.Log.Syslog
	if s == "" {
		return nil
	}
	if _, err := netip.ParseAddrPort(s); err != nil {
		return []error{c.errorf("log.syslog", "want IP:port (\"192.168.1.10:514\"), got %q", s)}
	}
	if ap := netip.MustParseAddrPort(s); ap.Port() == 0 || ap.Addr().IsUnspecified() {
		return []error{c.errorf("log.syslog", "want a server's IP:port (\"192.168.1.10:514\"), got %q", s)}
	}
	return nil
}
