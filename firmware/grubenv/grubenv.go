// Package grubenv reads and writes GRUB's environment block (grubenv): a 1024-byte file
// holding "name=value" lines after a fixed header, padded with '#'. GRUB's load_env reads it
// and save_env rewrites it in place, sector by sector, through the file's block list: GRUB
// never allocates, so the file must exist with its full size and stay exactly that size.
// That is also why the init rewrites it in place (see Write), never by rename.
//
// Format (grub-core/lib/envblk.c): the header line "# GRUB Environment Block\n", then one
// "name=value\n" per variable, with '\\' and '\n' in values escaped by a backslash, then '#'
// up to Size bytes.
package grubenv

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Size is the size of a grubenv block (GRUB_ENVBLK_DEFCFG's default, what grub-editenv
// creates and what save_env refuses to grow).
const Size = 1024

const header = "# GRUB Environment Block\n"

// Env is the variables of one block.
type Env map[string]string

// Parse reads a block. It accepts what GRUB writes; anything else is an error naming the
// problem.
func Parse(b []byte) (Env, error) {
	if len(b) != Size {
		return nil, fmt.Errorf("grubenv: %d bytes, want %d", len(b), Size)
	}
	if !bytes.HasPrefix(b, []byte(header)) {
		return nil, fmt.Errorf("grubenv: no %q header", strings.TrimSpace(header))
	}
	env := Env{}
	rest := b[len(header):]
	for len(rest) > 0 {
		if rest[0] == '#' {
			// Padding (or a comment line, which GRUB skips the same way).
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			continue
		}
		line, value, err := cutLine(rest)
		if err != nil {
			return nil, err
		}
		name, v, ok := strings.Cut(line, "=")
		if !ok || !validName(name) {
			return nil, fmt.Errorf("grubenv: bad line %q", line)
		}
		env[name] = v
		rest = value
	}
	return env, nil
}

// cutLine returns the first line of b, unescaped, and what follows its newline.
func cutLine(b []byte) (string, []byte, error) {
	var s strings.Builder
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\\':
			if i+1 == len(b) {
				return "", nil, fmt.Errorf("grubenv: escape at the end of the block")
			}
			i++
			s.WriteByte(b[i])
		case '\n':
			return s.String(), b[i+1:], nil
		default:
			s.WriteByte(c)
		}
	}
	return "", nil, fmt.Errorf("grubenv: unterminated line %q", s.String())
}

// validName is what GRUB's scripts can name: letters, digits and '_', not starting with a
// digit.
func validName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		return false
	}
	for _, c := range []byte(n) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Encode writes the block, variables sorted by name. It fails when the variables do not fit
// in Size bytes or a name is not one GRUB can use.
func (e Env) Encode() ([]byte, error) {
	names := make([]string, 0, len(e))
	for n := range e {
		if !validName(n) {
			return nil, fmt.Errorf("grubenv: bad variable name %q", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString(header)
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('=')
		for _, c := range []byte(e[n]) {
			if c == '\\' || c == '\n' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('\n')
	}
	if b.Len() > Size {
		return nil, fmt.Errorf("grubenv: %d bytes of variables do not fit in %d", b.Len(), Size)
	}
	b.Write(bytes.Repeat([]byte{'#'}, Size-b.Len()))
	return b.Bytes(), nil
}
