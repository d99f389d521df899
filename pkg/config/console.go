package config

import "github.com/pptpbox/pptpbox/pkg/login"

// Console is the [console] section: what the serial console offers the
// operator. The console runs the CLI, never a root shell, unless the
// operator asks for one here (or on the kernel command line with
// pptpbox.debug=1); the init reads this section before it starts the
// prompt.
type Console struct {
	// DebugShell adds `shell` to the console prompt: a root shell with the
	// u-root core commands, for field debugging. Off by default, because
	// anyone at the serial port then owns the box.
	DebugShell bool `toml:"debug_shell"`
	// PasswordHash is the console login's password as a salted bcrypt
	// hash (`boxd hash-password` makes one; the init checks a login with
	// login.Verify). Empty: the board profile decides whether the console
	// asks for a login at all.
	PasswordHash string `toml:"password_hash"`
}

// validateConsole checks that password_hash is a hash login.Verify can use
// (a plain password pasted there would lock the operator out).
func (c *Config) validateConsole() []error {
	if h := c.Console.PasswordHash; h != "" {
		if err := login.CheckHash(h); err != nil {
			return []error{c.errorf("console.password_hash", "%v", err)}
		}
	}
	return nil
}
