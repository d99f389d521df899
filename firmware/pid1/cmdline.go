package pid1

import (
	"strings"
)

// Cmdline is the parsed kernel command line (/proc/cmdline).
type Cmdline struct {
	args []string
	kv   map[string]string
}

// ParseCmdline splits a kernel command line. Double quotes group words, as the kernel's
// next_arg (lib/cmdline.c) does; "key=value" and bare "key" are both kept.
func ParseCmdline(s string) Cmdline {
	c := Cmdline{kv: map[string]string{}}
	var cur strings.Builder
	inQuote, have := false, false
	flush := func() {
		if have {
			c.args = append(c.args, cur.String())
		}
		cur.Reset()
		have = false
	}
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			have = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			flush()
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	flush()
	for _, a := range c.args {
		k, v, _ := strings.Cut(a, "=")
		c.kv[k] = v
	}
	return c
}

// Value returns the value of key= and whether key was present.
func (c Cmdline) Value(key string) (string, bool) {
	v, ok := c.kv[key]
	return v, ok
}

// Flag reports whether key is present and not set to 0, false, no or off.
func (c Cmdline) Flag(key string) bool {
	v, ok := c.kv[key]
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "0", "false", "no", "off":
		return false
	}
	return true
}

// ModuleParams returns the "param=value" options given as "module.param=value" for a
// module, joined by spaces as finit_module(2) takes them. For built-in code the kernel
// applies these itself; for loadable modules that is the loader's job (modprobe does the
// same). Module names match with '-' and '_' alike.
func (c Cmdline) ModuleParams(module string) string {
	want := strings.ReplaceAll(module, "-", "_")
	var out []string
	for _, a := range c.args {
		mod, rest, ok := strings.Cut(a, ".")
		if !ok || strings.ReplaceAll(mod, "-", "_") != want || rest == "" {
			continue
		}
		out = append(out, rest)
	}
	return strings.Join(out, " ")
}
