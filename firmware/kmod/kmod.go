// Package kmod reads a kernel's modules.dep and orders module loads.
//
// Debian's kernel packages ship the .ko files but no modules.dep (depmod writes it at
// install time), so the image builder runs depmod on the unpacked package, uses this package
// to copy only the dependency closure of a board's modules into the initramfs, and the init
// uses it again to load each module after its dependencies (Load: independent ones in
// parallel, soft pre-dependencies from modules.softdep honoured) and to skip drivers whose
// device aliases (modules.alias) match no device.
package kmod

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Module is one line of modules.dep.
type Module struct {
	Name string   // normalised module name (dashes become underscores)
	Path string   // path relative to /lib/modules/<kver>, as depmod writes it
	Deps []string // paths of the modules it needs, as depmod lists them
}

// Index maps normalised module names to modules.dep entries.
type Index struct {
	byName map[string]Module
	byPath map[string]Module
}

// Name normalises a module name or file name: the kernel treats '-' and '_' alike in module
// names, and strips the directory and the .ko (and compression) suffix.
func Name(s string) string {
	s = path.Base(s)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		s = strings.TrimSuffix(s, ext)
	}
	s = strings.TrimSuffix(s, ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// ParseDep parses modules.dep ("kernel/a/b.ko: kernel/c.ko kernel/d.ko" per line).
func ParseDep(r io.Reader) (*Index, error) {
	ix := &Index{byName: map[string]Module{}, byPath: map[string]Module{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		p, deps, ok := strings.Cut(text, ":")
		p = strings.TrimSpace(p)
		if !ok || p == "" || strings.ContainsAny(p, " \t") {
			return nil, fmt.Errorf("kmod: modules.dep:%d: want \"path.ko: deps...\", got %q", line, text)
		}
		if !strings.Contains(path.Base(p), ".ko") {
			return nil, fmt.Errorf("kmod: modules.dep:%d: %q is not a .ko path", line, p)
		}
		m := Module{Name: Name(p), Path: p, Deps: strings.Fields(deps)}
		if _, dup := ix.byName[m.Name]; dup {
			return nil, fmt.Errorf("kmod: modules.dep:%d: module %s listed twice", line, m.Name)
		}
		ix.byName[m.Name] = m
		ix.byPath[m.Path] = m
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kmod: modules.dep: %w", err)
	}
	return ix, nil
}

// Lookup finds a module by (unnormalised) name.
func (ix *Index) Lookup(name string) (Module, bool) {
	m, ok := ix.byName[Name(name)]
	return m, ok
}

// Len is the number of modules in the index.
func (ix *Index) Len() int { return len(ix.byName) }

// LoadOrder returns the modules to load for names, dependencies before the modules that need
// them, each once, in the order the names were given otherwise. Names found in builtin (the
// normalised names of modules.builtin) are skipped: they are part of the kernel image.
// Unknown names are errors.
func (ix *Index) LoadOrder(names []string, builtin map[string]bool) ([]Module, error) {
	var out []Module
	done := map[string]bool{}
	active := map[string]bool{}
	var visit func(m Module, chain []string) error
	visit = func(m Module, chain []string) error {
		if done[m.Path] {
			return nil
		}
		if active[m.Path] {
			return fmt.Errorf("kmod: dependency cycle: %s", strings.Join(append(chain, m.Name), " -> "))
		}
		active[m.Path] = true
		for _, d := range m.Deps {
			dm, ok := ix.byPath[d]
			if !ok {
				return fmt.Errorf("kmod: %s needs %s, which modules.dep does not list", m.Name, d)
			}
			if err := visit(dm, append(chain, m.Name)); err != nil {
				return err
			}
		}
		active[m.Path] = false
		done[m.Path] = true
		out = append(out, m)
		return nil
	}
	for _, n := range names {
		m, ok := ix.Lookup(n)
		if !ok {
			if builtin[Name(n)] {
				continue
			}
			return nil, fmt.Errorf("kmod: module %s: not in modules.dep nor built in", n)
		}
		if err := visit(m, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParseBuiltin parses modules.builtin (one "kernel/x/y.ko" per line) into normalised names.
func ParseBuiltin(r io.Reader) (map[string]bool, error) {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out[Name(t)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kmod: modules.builtin: %w", err)
	}
	return out, nil
}
