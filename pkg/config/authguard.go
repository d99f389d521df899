package config

import "time"

// AuthGuard is the password-guessing backoff of [pptp] (pkg/authguard):
// its keys sit in [pptp] beside the others.
type AuthGuard struct {
	// AuthFailLimit: failures of one user (from anywhere, or from one
	// source) within AuthFailWindow before backoff starts; 0 turns the
	// guard off.
	AuthFailLimit int `toml:"auth_fail_limit"`
	// AuthFailSourceLimit: the same for one source address, whatever
	// user names it tries; past it the source's calls are refused.
	AuthFailSourceLimit int `toml:"auth_fail_source_limit"`
	// AuthFailWindow: a count is forgotten after this long without a failure.
	AuthFailWindow Duration `toml:"auth_fail_window"`
	// AuthFailDelay is the first backoff, doubled per further failure up
	// to AuthFailMaxDelay.
	AuthFailDelay    Duration `toml:"auth_fail_delay"`
	AuthFailMaxDelay Duration `toml:"auth_fail_max_delay"`
}

func defaultAuthGuard() AuthGuard {
	return AuthGuard{
		AuthFailLimit:       5,
		AuthFailSourceLimit: 20,
		AuthFailWindow:      Duration{15 * time.Minute},
		AuthFailDelay:       Duration{time.Second},
		AuthFailMaxDelay:    Duration{30 * time.Second},
	}
}

func (c *Config) validateAuthGuard() []error {
	var errs []error
	g := &c.PPTP.AuthGuard
	bad := func(key, format string, args ...any) {
		errs = append(errs, c.errorf("pptp."+key, format, args...))
	}
	if g.AuthFailLimit < 0 || g.AuthFailLimit > 1000 {
		bad("auth_fail_limit", "must be between 0 (off) and 1000, got %d", g.AuthFailLimit)
	}
	if g.AuthFailLimit == 0 {
		return errs
	}
	if g.AuthFailSourceLimit < g.AuthFailLimit || g.AuthFailSourceLimit > 100000 {
		bad("auth_fail_source_limit", "must be between auth_fail_limit (%d) and 100000, got %d", g.AuthFailLimit, g.AuthFailSourceLimit)
	}
	if w := g.AuthFailWindow.Duration; w < time.Minute || w > 24*time.Hour {
		bad("auth_fail_window", "must be between 1m and 24h, got %s", w)
	}
	if d := g.AuthFailDelay.Duration; d < 10*time.Millisecond || d > time.Minute {
		bad("auth_fail_delay", "must be between 10ms and 1m, got %s", d)
	}
	if d := g.AuthFailMaxDelay.Duration; d < g.AuthFailDelay.Duration || d > 5*time.Minute {
		bad("auth_fail_max_delay", "must be between auth_fail_delay (%s) and 5m, got %s", g.AuthFailDelay.Duration, d)
	}
	return errs
}
