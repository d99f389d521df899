package confstore

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// User is a [[user]] block to add.
type User struct {
	Name     string
	Password string
	IP       string // "" or "*": from the pool
}

// AddUser returns text with a [[user]] block for u after the last one (at
// the end when there is none). A user of that name already there is
// refused.
func AddUser(text string, u User) (string, error) {
	if u.Name == "" || u.Password == "" {
		return "", fmt.Errorf("%w: a user needs a name and a password", ErrBadEdit)
	}
	d, err := scan(text)
	if err != nil {
		return "", fmt.Errorf("the config is not TOML this can edit: %w", err)
	}
	if s := d.user(u.Name); s != nil {
		return "", fmt.Errorf("%w: user %q exists (line %d)", ErrBadEdit, u.Name, d.line(s.start))
	}
	if v, ok := decoded(text)["user"]; ok {
		if _, arr := v.([]map[string]any); !arr {
			return "", fmt.Errorf("%w: user is defined here but not as [[user]] blocks, so a [[user]] cannot be added", ErrBadEdit)
		}
	}
	block := "[[user]]" + d.nl + "name = " + Quote(u.Name) + d.nl + "password = " + Quote(u.Password) + d.nl
	if u.IP != "" {
		block += "ip = " + Quote(u.IP) + d.nl
	}
	last := -1
	for i, s := range d.sections {
		if s.array == "user" {
			last = i
		}
	}
	if last < 0 {
		return stillTOML(text, d.appendBlock(block))
	}
	at := d.elementEnd(last)
	return stillTOML(text, d.text[:at]+d.lineBreakBefore(at)+d.nl+block+d.text[at:])
}

// decoded is text's TOML tree (nil when it is not TOML).
func decoded(text string) map[string]any {
	var m map[string]any
	if _, err := toml.Decode(text, &m); err != nil {
		return nil
	}
	return m
}

// stillTOML refuses an edit that turned TOML text into text that is not
// (the scanner reads less of TOML than the decoder; this is the net under it).
func stillTOML(before, after string) (string, error) {
	if decoded(before) == nil {
		return after, nil
	}
	var m map[string]any
	if _, err := toml.Decode(after, &m); err != nil {
		return "", fmt.Errorf("%w: the edited config would not be TOML: %v", ErrBadEdit, err)
	}
	return after, nil
}

// DeleteUser returns text without name's [[user]] block (its sub-tables and
// the comment lines right above its header go with it).
func DeleteUser(text, name string) (string, error) {
	d, err := scan(text)
	if err != nil {
		return "", fmt.Errorf("the config is not TOML this can edit: %w", err)
	}
	i := d.userIndex(name)
	if i < 0 {
		return "", fmt.Errorf("%w: no user %q", ErrNotFound, name)
	}
	from, to := d.commentsAbove(d.sections[i].start), d.elementEnd(i)
	// One blank line is kept between what was before and after.
	if to < len(d.text) && (from == 0 || strings.HasSuffix(d.text[:from], d.nl+d.nl)) {
		to += blankLineAt(d.text[to:], d.nl)
	}
	return stillTOML(text, d.text[:from]+d.text[to:])
}

// SetUserPassword returns text with name's password set.
func SetUserPassword(text, name, password string) (string, error) {
	if password == "" {
		return "", fmt.Errorf("%w: empty password", ErrBadEdit)
	}
	d, err := scan(text)
	if err != nil {
		return "", fmt.Errorf("the config is not TOML this can edit: %w", err)
	}
	s := d.user(name)
	if s == nil {
		return "", fmt.Errorf("%w: no user %q", ErrNotFound, name)
	}
	for _, kv := range s.keys {
		if kv.key == "password" {
			return stillTOML(text, d.text[:kv.valStart]+Quote(password)+d.text[kv.valEnd:])
		}
	}
	return stillTOML(text, d.insertKey(s, "password", Quote(password)))
}

func (d *doc) user(name string) *section {
	if i := d.userIndex(name); i >= 0 {
		return &d.sections[i]
	}
	return nil
}

// userIndex finds the [[user]] element whose name is name (-1: none).
func (d *doc) userIndex(name string) int {
	for i, s := range d.sections {
		if s.array != "user" {
			continue
		}
		for _, kv := range s.keys {
			if kv.key == "name" && decodeString(d.text[kv.valStart:kv.valEnd]) == name {
				return i
			}
		}
	}
	return -1
}

// elementEnd is the end of array element i with its sub-tables.
func (d *doc) elementEnd(i int) int {
	end := d.sections[i].end()
	for _, s := range d.sections[i+1:] {
		if !strings.HasPrefix(s.name, d.sections[i].name+".") {
			break
		}
		end = s.end()
	}
	return end
}

// commentsAbove moves offset at (a line start) up over the comment lines
// right above it.
func (d *doc) commentsAbove(at int) int {
	for at > 0 {
		prev := strings.LastIndex(d.text[:at-1], "\n") + 1
		if !strings.HasPrefix(strings.TrimLeft(d.text[prev:at], " \t"), "#") {
			break
		}
		at = prev
	}
	return at
}

// blankLineAt is the length of the blank line text starts with (0: none).
func blankLineAt(text, nl string) int {
	t := strings.TrimLeft(text, " \t")
	if strings.HasPrefix(t, nl) {
		return len(text) - len(t) + len(nl)
	}
	return 0
}

// decodeString is the string a TOML value holds ("" when it is not one).
func decodeString(v string) string {
	var m struct{ V string }
	if _, err := toml.Decode("V = "+v, &m); err != nil {
		return ""
	}
	return m.V
}
