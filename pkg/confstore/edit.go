package confstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// ErrNotFound is wrapped by edits that name a user or element the text
// does not have.
var ErrNotFound = errors.New("not found")

// ErrBadEdit is wrapped by edits refused before any change: a malformed
// key or value, a key that names a table or lies inside a value.
var ErrBadEdit = errors.New("bad edit")

// Set returns text with key (dotted: "pptp.mppe", "radius.server.0.secret")
// set to value. An existing key keeps its line, its comment and its place;
// a new key goes after the last key of its table; a new table goes at the
// end. value is TOML ("\"allow\"", "3", "true", "[\"8.8.8.8\"]") or a bare
// word, which is written as a string. Set checks TOML shape only: whether
// the key exists in the schema and the value has its type is pkg/config's
// to say (Validate in this package).
func Set(text, key, value string) (string, error) {
	parts, err := splitKey(key)
	if err != nil {
		return "", err
	}
	val, err := Value(value)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	d, err := scan(text)
	if err != nil {
		return "", fmt.Errorf("the config is not TOML this can edit: %w", err)
	}
	return d.set(parts, val)
}

// splitKey checks a dotted key of bare parts.
func splitKey(key string) ([]string, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: empty key", ErrBadEdit)
	}
	parts := strings.Split(key, ".")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: %q: empty part in a dotted key", ErrBadEdit, key)
		}
		for i := 0; i < len(p); i++ {
			if !isBare(p[i]) {
				return nil, fmt.Errorf("%w: %q: a key is letters, digits, _ and - joined by dots", ErrBadEdit, key)
			}
		}
	}
	return parts, nil
}

// Value turns what the operator typed into a TOML value: itself when it is
// one TOML value, else a string holding it. Text that starts like a
// string, array or inline table but does not parse is refused rather than
// quoted: it is a typo, not a word.
func Value(v string) (string, error) {
	t := strings.TrimSpace(v)
	if t == "" {
		return "", fmt.Errorf("%w: empty value (an empty string is \"\")", ErrBadEdit)
	}
	// One value and nothing more: the scan sees one key whose value is the
	// whole text (a newline cannot smuggle in another key or a table), and
	// the TOML decoder agrees it is a value.
	src := "v = " + t + "\n"
	d, serr := scan(src)
	var m map[string]any
	_, derr := toml.Decode(src, &m)
	if serr == nil && derr == nil && len(d.sections) == 1 && len(d.sections[0].keys) == 1 {
		kv := d.sections[0].keys[0]
		return src[kv.valStart:kv.valEnd], nil // without a comment typed after it
	}
	switch t[0] {
	case '"', '\'', '[', '{':
		err := derr
		if err == nil {
			err = serr
		}
		if err == nil {
			err = errors.New("more than one value")
		}
		return "", fmt.Errorf("%w: not a TOML value: %v", ErrBadEdit, err)
	}
	return Quote(t), nil
}

// Quote writes s as a TOML basic string.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (d *doc) set(parts []string, val string) (string, error) {
	key := strings.Join(parts, ".")
	for i := range d.sections {
		s := &d.sections[i]
		for _, kv := range s.keys {
			full := s.full(kv)
			if full == key {
				return d.text[:kv.valStart] + val + d.text[kv.valEnd:], nil
			}
			if strings.HasPrefix(key, full+".") {
				return "", fmt.Errorf("%w: %s is a value (line %d), %s cannot be set inside it", ErrBadEdit, full, d.line(kv.lineStart), key)
			}
		}
		if s.name == key || s.array == key {
			return "", fmt.Errorf("%w: %s is a table: set one of its keys", ErrBadEdit, key)
		}
	}
	table, last := strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1]
	// Through a list of tables, a key names one element by its number:
	// radius.server.0.secret, never radius.server.secret.
	elem := -1 // the section of the deepest element the key passes through
	for i := range parts[:len(parts)-1] {
		name := strings.Join(parts[:i+1], ".")
		n, isArray := d.arrays[name]
		if !isArray {
			continue
		}
		k, err := strconv.Atoi(parts[i+1])
		if err != nil || i+1 == len(parts)-1 {
			return "", fmt.Errorf("%w: [[%s]] is a list of tables: name one by its number (%s.0.%s)", ErrBadEdit, name, name, strings.Join(parts[i+1:], "."))
		}
		if k < 0 || k >= n || parts[i+1] != strconv.Itoa(k) {
			return "", fmt.Errorf("%w: there is no [[%s]] number %s", ErrNotFound, name, parts[i+1])
		}
		for j := range d.sections {
			if d.sections[j].name == name+"."+parts[i+1] {
				elem = j
			}
		}
	}
	// The key's table exists: the key goes after its last key.
	for i := range d.sections {
		if s := &d.sections[i]; s.name == table && (table != "" || i == 0) {
			return d.insertKey(s, last, val), nil
		}
	}
	// The table is made by dotted keys of a parent table ([lan] with
	// dhcp.range = ...): the key joins them.
	for i := len(d.sections) - 1; i >= 0; i-- {
		s := &d.sections[i]
		for j := len(s.keys) - 1; j >= 0; j-- {
			if full := s.full(s.keys[j]); strings.HasPrefix(full, table+".") {
				rel := strings.TrimPrefix(key, s.name+".")
				kv := s.keys[j]
				return d.text[:kv.lineEnd] + d.lineBreakBefore(kv.lineEnd) + kv.indent + rel + " = " + val + d.nl + d.text[kv.lineEnd:], nil
			}
		}
	}
	if elem >= 0 {
		// A new table inside an element: its header names the table
		// without the numbers (TOML puts it in the element above it), at
		// the end of the element.
		at := d.elementEnd(elem)
		return d.text[:at] + d.lineBreakBefore(at) + d.nl + "[" + d.unnumbered(table) + "]" + d.nl + last + " = " + val + d.nl + d.text[at:], nil
	}
	// A new table at the end.
	return d.appendBlock("[" + table + "]" + d.nl + last + " = " + val + d.nl), nil
}

// unnumbered is a resolved table name as a header writes it: without the
// element numbers after each list of tables.
func (d *doc) unnumbered(name string) string {
	parts := strings.Split(name, ".")
	var out []string
	for i := 0; i < len(parts); i++ {
		out = append(out, parts[i])
		if _, ok := d.arrays[strings.Join(parts[:i+1], ".")]; ok {
			i++ // skip the number
		}
	}
	return strings.Join(out, ".")
}

// insertKey adds key = val to s after its last key (or its header).
func (d *doc) insertKey(s *section, key, val string) string {
	at, indent := s.headerEnd, ""
	if n := len(s.keys); n > 0 {
		at, indent = s.keys[n-1].lineEnd, s.keys[n-1].indent
	}
	if s.name == "" && len(s.keys) == 0 {
		at = 0 // the root has no header: before the first table
		if len(d.sections) > 1 {
			at = d.sections[1].start
		} else {
			at = len(d.text)
		}
	}
	return d.text[:at] + d.lineBreakBefore(at) + indent + key + " = " + val + d.nl + d.text[at:]
}

// lineBreakBefore is the line break needed to start a new line at offset
// at: none at the start of a line.
func (d *doc) lineBreakBefore(at int) string {
	if at == 0 || d.text[at-1] == '\n' {
		return ""
	}
	return d.nl
}

// appendBlock adds lines at the end of the text after a blank line.
func (d *doc) appendBlock(block string) string {
	t := d.text
	if t != "" && !strings.HasSuffix(t, "\n") {
		t += d.nl
	}
	if t != "" && !strings.HasSuffix(t, d.nl+d.nl) {
		t += d.nl
	}
	return t + block
}

// line is the 1-based line of offset at.
func (d *doc) line(at int) int { return 1 + strings.Count(d.text[:at], "\n") }
