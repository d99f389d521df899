package main

import "github.com/pptpbox/pptpbox/pkg/authguard"

// authGuard is the session server's password-guessing guard of [pptp]
// auth_fail_* (config.PPTPParams.Guard); auth_fail_limit = 0 turns it off
// (nil).
func authGuard(c authguard.Config) *authguard.Guard {
	if c.Limit == 0 {
		return nil
	}
	return authguard.New(c)
}
