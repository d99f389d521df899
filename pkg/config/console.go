package config

// Console is the [console] section: what the serial console offers the
// operator. The console runs the CLI, never a root shell, unless the
// operator asks for one here (or on the kernel command line with
// pptpbox.debug=1); the init reads this key before it starts the prompt.
//
// A bool has no meaning to check beyond its type, which the decoder
// already enforces with file:line:key errors, so there is no
// validateConsole: Validate has nothing to add for this section.
type Console struct {
	// DebugShell adds `shell` to the console prompt: a root shell with the
	// u-root core commands, for field debugging. Off by default, because
	// anyone at the serial port then owns the box.
	DebugShell bool `toml:"debug_shell"`
}
