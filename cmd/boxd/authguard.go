package main

import (
	"github.com/pptpbox/pptpbox/pkg/authguard"
	"github.com/pptpbox/pptpbox/pkg/config"
)

// authGuard maps [pptp] auth_fail_* to the session server's password-
// guessing guard; auth_fail_limit = 0 turns it off (nil).
func authGuard(p *config.PPTP) *authguard.Guard {
	g := p.AuthGuard
	if g.AuthFailLimit == 0 {
		return nil
	}
	return authguard.New(authguard.Config{
		Limit:       g.AuthFailLimit,
		SourceLimit: g.AuthFailSourceLimit,
		Window:      g.AuthFailWindow.Duration,
		Delay:       g.AuthFailDelay.Duration,
		MaxDelay:    g.AuthFailMaxDelay.Duration,
	})
}
