package confstore

import (
	"fmt"
	"strconv"
	"strings"
)

// The TOML edits work on the operator's text, not on a decoded tree, so
// that comments, order and layout survive a `config set`. scan finds where
// each table starts and ends and where each key's value lies (byte
// offsets); the edits splice new text in at those places. The scan knows
// TOML's lexical shape (strings of the four kinds, arrays and inline tables
// across lines, comments) but not its meaning: every edited text is parsed
// and validated again by pkg/config before it is kept.

// doc is a scanned TOML text.
type doc struct {
	text     string
	nl       string // the file's line ending: "\n" or "\r\n"
	sections []section
	arrays   map[string]int // resolved array-of-tables name -> elements so far
}

// section is the root table or one [table] / [[array]] element, from its
// header to the next header.
type section struct {
	name      string // resolved dotted name: "pptp", "user.0", "lan.dhcp"; "" for the root
	array     string // for a [[x]] element: its array's resolved name ("user")
	start     int    // offset of the header line (0 for the root)
	headerEnd int    // offset after the header line
	keys      []keyval
}

// keyval is one key = value line (the value may span lines).
type keyval struct {
	key       string // dotted, as written but unquoted, relative to its section
	lineStart int    // offset of the line
	indent    string
	valStart  int // the value's bytes
	valEnd    int
	lineEnd   int // offset after the line the value ends on
}

// full is the key's name from the root.
func (s *section) full(kv keyval) string {
	if s.name == "" {
		return kv.key
	}
	return s.name + "." + kv.key
}

// end is the offset after the section's last line of its own (its last
// key, or its header): the comments and blank lines before the next header
// are left to that header.
func (s *section) end() int {
	if len(s.keys) > 0 {
		return s.keys[len(s.keys)-1].lineEnd
	}
	return s.headerEnd
}

// maxDepth bounds nested arrays and inline tables.
const maxDepth = 64

type scanError struct {
	line int
	msg  string
}

func (e *scanError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

type scanner struct {
	s   string
	pos int
	d   *doc
}

func (sc *scanner) fail(format string, args ...any) error {
	return &scanError{line: 1 + strings.Count(sc.s[:min(sc.pos, len(sc.s))], "\n"), msg: fmt.Sprintf(format, args...)}
}

// scan reads text into a doc, or says where it is not TOML it can edit.
func scan(text string) (*doc, error) {
	d := &doc{text: text, nl: "\n", arrays: map[string]int{}}
	if strings.Contains(text, "\r\n") {
		d.nl = "\r\n"
	}
	d.sections = []section{{}}
	sc := &scanner{s: text, d: d}
	for sc.pos < len(sc.s) {
		if err := sc.line(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// line reads one logical line: blank, comment, header or key = value.
func (sc *scanner) line() error {
	start := sc.pos
	sc.skipSpace()
	if sc.pos >= len(sc.s) {
		return nil
	}
	switch c := sc.s[sc.pos]; {
	case c == '\n' || c == '\r' || c == '#':
		return sc.endLine()
	case c == '[':
		return sc.header(start)
	default:
		return sc.keyval(start)
	}
}

func (sc *scanner) skipSpace() {
	for sc.pos < len(sc.s) && (sc.s[sc.pos] == ' ' || sc.s[sc.pos] == '\t') {
		sc.pos++
	}
}

// endLine accepts spaces and a comment up to the end of the line.
func (sc *scanner) endLine() error {
	sc.skipSpace()
	if sc.pos < len(sc.s) && sc.s[sc.pos] == '#' {
		for sc.pos < len(sc.s) && sc.s[sc.pos] != '\n' {
			sc.pos++
		}
	}
	switch {
	case sc.pos >= len(sc.s):
		return nil
	case sc.s[sc.pos] == '\n':
		sc.pos++
		return nil
	case strings.HasPrefix(sc.s[sc.pos:], "\r\n"):
		sc.pos += 2
		return nil
	}
	return sc.fail("unexpected %q after a value", sc.s[sc.pos])
}

func (sc *scanner) header(start int) error {
	array := strings.HasPrefix(sc.s[sc.pos:], "[[")
	if array {
		sc.pos += 2
	} else {
		sc.pos++
	}
	sc.skipSpace()
	parts, err := sc.key()
	if err != nil {
		return err
	}
	sc.skipSpace()
	closer := "]"
	if array {
		closer = "]]"
	}
	if !strings.HasPrefix(sc.s[sc.pos:], closer) {
		return sc.fail("table header without %s", closer)
	}
	sc.pos += len(closer)
	if err := sc.endLine(); err != nil {
		return err
	}
	d := sc.d
	name := d.resolve(parts)
	sec := section{name: name, start: start, headerEnd: sc.pos}
	if array {
		n := d.arrays[name]
		d.arrays[name] = n + 1
		sec.array = name
		sec.name = name + "." + strconv.Itoa(n)
	}
	d.sections = append(d.sections, sec)
	return nil
}

// resolve names a header's table with the index of each array of tables
// it passes through: [user.x] after the second [[user]] is "user.1.x".
func (d *doc) resolve(parts []string) string {
	name := ""
	for i, p := range parts {
		if i > 0 {
			name += "."
		}
		name += p
		if i < len(parts)-1 {
			if n, ok := d.arrays[name]; ok && n > 0 {
				name += "." + strconv.Itoa(n-1)
			}
		}
	}
	return name
}

func (sc *scanner) keyval(start int) error {
	indent := sc.s[start:sc.pos]
	parts, err := sc.key()
	if err != nil {
		return err
	}
	sc.skipSpace()
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '=' {
		return sc.fail("want key = value")
	}
	sc.pos++
	sc.skipSpace()
	vs := sc.pos
	if err := sc.value(0); err != nil {
		return err
	}
	ve := sc.pos
	if err := sc.endLine(); err != nil {
		return err
	}
	sec := &sc.d.sections[len(sc.d.sections)-1]
	sec.keys = append(sec.keys, keyval{key: strings.Join(parts, "."), lineStart: start, indent: indent, valStart: vs, valEnd: ve, lineEnd: sc.pos})
	return nil
}

// key reads a dotted key of bare and quoted parts.
func (sc *scanner) key() ([]string, error) {
	var parts []string
	for {
		sc.skipSpace()
		p, err := sc.keyPart()
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		sc.skipSpace()
		if sc.pos >= len(sc.s) || sc.s[sc.pos] != '.' {
			return parts, nil
		}
		sc.pos++
	}
}

func (sc *scanner) keyPart() (string, error) {
	if sc.pos >= len(sc.s) {
		return "", sc.fail("want a key")
	}
	switch sc.s[sc.pos] {
	case '"':
		s, err := sc.basicString()
		if err != nil {
			return "", err
		}
		u, err := strconv.Unquote(s)
		if err != nil {
			return s[1 : len(s)-1], nil // TOML escapes Go does not know: keep the raw text
		}
		return u, nil
	case '\'':
		s, err := sc.literalString()
		if err != nil {
			return "", err
		}
		return s[1 : len(s)-1], nil
	}
	st := sc.pos
	for sc.pos < len(sc.s) && isBare(sc.s[sc.pos]) {
		sc.pos++
	}
	if sc.pos == st {
		return "", sc.fail("want a key, not %q", sc.s[sc.pos])
	}
	return sc.s[st:sc.pos], nil
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value reads one value: a string, an array, an inline table or a bare
// scalar (number, bool, date).
func (sc *scanner) value(depth int) error {
	if depth > maxDepth {
		return sc.fail("values nested deeper than %d", maxDepth)
	}
	if sc.pos >= len(sc.s) {
		return sc.fail("want a value")
	}
	switch sc.s[sc.pos] {
	case '"':
		if strings.HasPrefix(sc.s[sc.pos:], `"""`) {
			return sc.multiline(`"""`, true)
		}
		_, err := sc.basicString()
		return err
	case '\'':
		if strings.HasPrefix(sc.s[sc.pos:], "'''") {
			return sc.multiline("'''", false)
		}
		_, err := sc.literalString()
		return err
	case '[':
		return sc.array(depth)
	case '{':
		return sc.inlineTable(depth)
	}
	st := sc.pos
	for sc.pos < len(sc.s) {
		c := sc.s[sc.pos]
		if c == ' ' && sc.pos+1 < len(sc.s) && isDigit(sc.s[sc.pos+1]) && isDate(sc.s[st:sc.pos]) {
			sc.pos++ // "1979-05-27 07:32:00": a date, a space, a time
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ']' || c == '}' || c == '#' {
			break
		}
		sc.pos++
	}
	if sc.pos == st {
		return sc.fail("want a value")
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && isDigit(s[0]) && isDigit(s[9])
}

// basicString reads "..." on one line and returns it with its quotes.
func (sc *scanner) basicString() (string, error) {
	st := sc.pos
	sc.pos++
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case '\\':
			sc.pos += 2
			continue
		case '"':
			sc.pos++
			return sc.s[st:sc.pos], nil
		case '\n':
			return "", sc.fail("string not closed on its line")
		}
		sc.pos++
	}
	sc.pos = len(sc.s)
	return "", sc.fail("string not closed")
}

// literalString reads '...' on one line and returns it with its quotes.
func (sc *scanner) literalString() (string, error) {
	st := sc.pos
	i := strings.IndexAny(sc.s[sc.pos+1:], "'\n")
	if i < 0 || sc.s[sc.pos+1+i] != '\'' {
		return "", sc.fail("string not closed on its line")
	}
	sc.pos += i + 2
	return sc.s[st:sc.pos], nil
}

// multiline reads a """ or ”' string; a closing delimiter may be
// followed by up to two more quotes, which belong to the string.
func (sc *scanner) multiline(delim string, escapes bool) error {
	sc.pos += 3
	for sc.pos < len(sc.s) {
		if escapes && sc.s[sc.pos] == '\\' {
			sc.pos += 2
			continue
		}
		if strings.HasPrefix(sc.s[sc.pos:], delim) {
			sc.pos += 3
			for n := 0; n < 2 && sc.pos < len(sc.s) && sc.s[sc.pos] == delim[0]; n++ {
				sc.pos++
			}
			return nil
		}
		sc.pos++
	}
	sc.pos = len(sc.s)
	return sc.fail("multi-line string not closed")
}

// skipBlank skips spaces, newlines and comments (inside arrays).
func (sc *scanner) skipBlank() {
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		case '#':
			for sc.pos < len(sc.s) && sc.s[sc.pos] != '\n' {
				sc.pos++
			}
		default:
			return
		}
	}
}

func (sc *scanner) array(depth int) error {
	return sc.list(']', "an array", func() error { return sc.value(depth + 1) })
}

func (sc *scanner) inlineTable(depth int) error {
	return sc.list('}', "an inline table", func() error {
		if _, err := sc.key(); err != nil {
			return err
		}
		sc.skipSpace()
		if sc.pos >= len(sc.s) || sc.s[sc.pos] != '=' {
			return sc.fail("want key = value in an inline table")
		}
		sc.pos++
		sc.skipSpace()
		return sc.value(depth + 1)
	})
}

// list reads the items of an array or inline table, comma-separated up to
// closer (newlines and comments allowed between them).
func (sc *scanner) list(closer byte, what string, item func() error) error {
	sc.pos++
	for {
		sc.skipBlank()
		if sc.pos >= len(sc.s) {
			return sc.fail("%s not closed", what)
		}
		if sc.s[sc.pos] == closer {
			sc.pos++
			return nil
		}
		if err := item(); err != nil {
			return err
		}
		sc.skipBlank()
		if sc.pos < len(sc.s) && sc.s[sc.pos] == ',' {
			sc.pos++
		} else if sc.pos >= len(sc.s) || sc.s[sc.pos] != closer {
			return sc.fail("want , or %c in %s", closer, what)
		}
	}
}
