package aaa

import "fmt"

// SingleSession is what a second login of the same user name does: the
// policy of the session layer, named here so that the config can hand it
// over without depending on that layer.
type SingleSession int

const (
	// SingleReplace ends the older session (the seed's auth-up hack, done right).
	SingleReplace SingleSession = iota
	// SingleDeny refuses the new login while the old session lives.
	SingleDeny
	// SingleOff lets one user hold any number of sessions.
	SingleOff
)

func (p SingleSession) String() string {
	switch p {
	case SingleReplace:
		return "replace"
	case SingleDeny:
		return "deny"
	case SingleOff:
		return "off"
	}
	return fmt.Sprintf("SingleSession(%d)", int(p))
}

// ParseSingleSession maps the config value (pptp.single_session).
func ParseSingleSession(s string) (SingleSession, error) {
	switch s {
	case "replace":
		return SingleReplace, nil
	case "deny":
		return SingleDeny, nil
	case "off":
		return SingleOff, nil
	}
	return 0, fmt.Errorf("aaa: bad single-session policy %q", s)
}
