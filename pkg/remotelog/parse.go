package remotelog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse reads an RFC 5424 message (what a receiver does; the tests'
// syslog server uses it). Only the SDID element's parameters are kept;
// other elements are checked and skipped.
func Parse(b []byte) (Message, error) {
	var m Message
	s := string(b)
	if !strings.HasPrefix(s, "<") {
		return m, errors.New("remotelog: no <PRI>")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return m, errors.New("remotelog: bad <PRI>")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri > 191 || (len(s[1:end]) > 1 && s[1] == '0') {
		return m, fmt.Errorf("remotelog: bad PRI %q", s[1:end])
	}
	m.Priority = pri
	s = s[end+1:]
	var f [6]string
	for i := range f {
		j := strings.IndexByte(s, ' ')
		if j <= 0 {
			return m, fmt.Errorf("remotelog: header field %d missing", i)
		}
		f[i], s = s[:j], s[j+1:]
	}
	if f[0] != "1" {
		return m, fmt.Errorf("remotelog: version %q, want 1", f[0])
	}
	if f[1] != "-" {
		if m.Timestamp, err = time.Parse(time.RFC3339Nano, f[1]); err != nil {
			return m, fmt.Errorf("remotelog: timestamp: %w", err)
		}
	}
	field := func(v string) string {
		if v == "-" {
			return ""
		}
		return v
	}
	m.Hostname, m.AppName, m.ProcID, m.MsgID = field(f[2]), field(f[3]), field(f[4]), field(f[5])
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		s = rest
	} else {
		for strings.HasPrefix(s, "[") {
			id, ps, rest, err := parseElement(s)
			if err != nil {
				return m, err
			}
			if id == SDID {
				m.Params = append(m.Params, ps...)
			}
			s = rest
		}
		if len(s) > 0 && s[0] != ' ' {
			return m, errors.New("remotelog: no structured data")
		}
	}
	if s != "" {
		if s[0] != ' ' {
			return m, errors.New("remotelog: no space before MSG")
		}
		m.Text = strings.TrimPrefix(s[1:], "\uFEFF")
	}
	return m, nil
}

// parseElement reads "[ID name="value" ...]" from the start of s.
func parseElement(s string) (id string, ps []Param, rest string, err error) {
	s = s[1:]
	i := strings.IndexAny(s, " ]")
	if i <= 0 {
		return "", nil, "", errors.New("remotelog: bad SD-ID")
	}
	id, s = s[:i], s[i:]
	for {
		if rest, ok := strings.CutPrefix(s, "]"); ok {
			return id, ps, rest, nil
		}
		if !strings.HasPrefix(s, " ") {
			return "", nil, "", errors.New("remotelog: bad SD-PARAM")
		}
		s = s[1:]
		eq := strings.Index(s, "=\"")
		if eq <= 0 || eq > 32 || strings.ContainsAny(s[:eq], " ]\"=") {
			return "", nil, "", errors.New("remotelog: bad PARAM-NAME")
		}
		name := s[:eq]
		s = s[eq+2:]
		var v strings.Builder
		closed := false
		for j := 0; j < len(s); j++ {
			c := s[j]
			if c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\' || s[j+1] == ']') {
				v.WriteByte(s[j+1])
				j++
				continue
			}
			if c == '"' {
				s, closed = s[j+1:], true
				break
			}
			if c == ']' {
				return "", nil, "", errors.New("remotelog: unescaped ] in PARAM-VALUE")
			}
			v.WriteByte(c)
		}
		if !closed {
			return "", nil, "", errors.New("remotelog: unterminated PARAM-VALUE")
		}
		ps = append(ps, Param{Name: name, Value: v.String()})
	}
}
