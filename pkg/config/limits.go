package config

import "time"

// validatePPTPLimits checks the [pptp] keys that bound what an
// unauthenticated peer can hold (issue 14): control connections, calls and
// the deadlines before a control connection and a login must be complete.
func (c *Config) validatePPTPLimits() []error {
	p := &c.PPTP
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("pptp."+key, format, args...))
	}
	// One descriptor per control connection; 65535 is far above any
	// router's descriptor limit, boxd lowers the cap to fit at start.
	if p.MaxConnections < 1 || p.MaxConnections > 65535 {
		bad("max_connections", "must be between 1 and 65535, got %d", p.MaxConnections)
	}
	if p.MaxConnectionsPerSource < 0 || p.MaxConnectionsPerSource > 65535 {
		bad("max_connections_per_source", "must be between 0 (no cap) and 65535, got %d", p.MaxConnectionsPerSource)
	} else if p.MaxConnectionsPerSource > p.MaxConnections {
		bad("max_connections_per_source", "%d is more than max_connections (%d)", p.MaxConnectionsPerSource, p.MaxConnections)
	}
	if p.MaxCallsPerConnection < 0 || p.MaxCallsPerConnection > 65535 {
		bad("max_calls_per_connection", "must be between 0 (no cap) and 65535, got %d", p.MaxCallsPerConnection)
	}
	if p.MaxUnauthenticatedPerSource < 0 || p.MaxUnauthenticatedPerSource > 65535 {
		bad("max_unauthenticated_per_source", "must be between 0 (no cap) and 65535, got %d", p.MaxUnauthenticatedPerSource)
	}
	// RFC 2637 gives no set-up deadline; a real client sends SCCRQ at once.
	// Below 1 s a slow WAN round trip could lose a real client.
	if d := p.StartTimeout.Duration; d < time.Second || d > 10*time.Minute {
		bad("start_timeout", "must be between 1s and 10m, got %s", d)
	}
	// LCP restarts every 3 s (RFC 1661 Restart timer) and a RADIUS server
	// may take seconds: 5 s is the least a real login needs.
	if d := p.LoginTimeout.Duration; d < 5*time.Second || d > 10*time.Minute {
		bad("login_timeout", "must be between 5s and 10m, got %s", d)
	}
	return errs
}
