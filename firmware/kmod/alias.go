package kmod

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Aliases is modules.alias: the device (and other) names each module answers to, as the
// fnmatch patterns depmod copies from the modules' MODULE_DEVICE_TABLEs and MODULE_ALIASes.
type Aliases struct {
	byModule map[string][]string // normalised module name -> patterns
	all      []alias
}

type alias struct{ pattern, module string }

// ParseAlias parses modules.alias ("alias PATTERN MODULE" per line; # comments).
func ParseAlias(r io.Reader) (*Aliases, error) {
	a := &Aliases{byModule: map[string][]string{}}
	err := eachLine(r, "modules.alias", func(f []string) error {
		if len(f) != 3 || f[0] != "alias" {
			return fmt.Errorf("want \"alias PATTERN MODULE\", got %q", strings.Join(f, " "))
		}
		if _, err := path.Match(f[1], ""); err != nil {
			return fmt.Errorf("pattern %q: %w", f[1], err)
		}
		m := Name(f[2])
		a.byModule[m] = append(a.byModule[m], f[1])
		a.all = append(a.all, alias{f[1], m})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// eachLine calls fn with the fields of each line of r that is neither empty nor a comment;
// its error is returned naming the file and line.
func eachLine(r io.Reader, file string, fn func(fields []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if err := fn(f); err != nil {
			return fmt.Errorf("kmod: %s:%d: %w", file, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("kmod: %s: %w", file, err)
	}
	return nil
}

// Resolve returns the modules a name stands for: the modules with an alias matching it, else
// the name itself as a module name (what modprobe does with a softdep's names).
func (a *Aliases) Resolve(name string) []string {
	var out []string
	for _, al := range a.all {
		if ok, _ := path.Match(al.pattern, name); ok {
			out = append(out, al.module)
		}
	}
	if len(out) == 0 {
		out = []string{Name(name)}
	}
	return out
}

// DeviceAliases returns a module's aliases when all of them name devices on one of the
// buses ("pci" for the aliases "pci:..."), and nil when the module has none or answers to
// something else too (a file system, a crypto algorithm, a character device, a CPU feature):
// only a module of the first kind is known to be useless when no device matches.
func (a *Aliases) DeviceAliases(module string, buses ...string) []string {
	pats := a.byModule[Name(module)]
	if len(pats) == 0 {
		return nil
	}
	for _, p := range pats {
		bus, _, ok := strings.Cut(p, ":")
		if !ok || !contains(buses, bus) {
			return nil
		}
	}
	return pats
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// MatchAlias reports whether a device's modalias (from sysfs) matches a module alias pattern.
func MatchAlias(pattern, modalias string) bool {
	ok, _ := path.Match(pattern, modalias)
	return ok
}

// ParseSoftdep parses modules.softdep ("softdep MODULE pre: NAME... post: NAME..." per line)
// into each module's pre names (module names or aliases, as the module declares them).
// Post dependencies are not kept: nothing needs them before the module works.
func ParseSoftdep(r io.Reader) (map[string][]string, error) {
	out := map[string][]string{}
	err := eachLine(r, "modules.softdep", func(f []string) error {
		if len(f) < 2 || f[0] != "softdep" || strings.HasSuffix(f[1], ":") {
			return fmt.Errorf("want \"softdep MODULE pre: ... post: ...\", got %q", strings.Join(f, " "))
		}
		m := Name(f[1])
		section := ""
		for _, w := range f[2:] {
			switch w {
			case "pre:", "post:":
				section = w
			default:
				switch section {
				case "pre:":
					out[m] = append(out[m], w)
				case "post:":
				default:
					return fmt.Errorf("%q before pre: or post:", w)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
