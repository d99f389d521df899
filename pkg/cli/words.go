package cli

import (
	"fmt"
	"strings"
)

// Split splits a command line into words: blanks separate them, double
// quotes group (with \" and \\ inside), single quotes group literally, a
// backslash outside quotes escapes the next character.
func Split(line string) ([]string, error) {
	s := split(line)
	if s.open != 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("unterminated %c quote", s.open)}
	}
	if s.inWord {
		s.words = append(s.words, s.cur.String())
	}
	return s.words, nil
}

// splitState is a line split up to its end: the words before the last,
// and the last word when the line does not end in a blank.
type splitState struct {
	words  []string
	cur    strings.Builder // the word being read
	inWord bool
	start  int  // byte offset of the word being read
	open   byte // the quote left open, 0 if none
}

func split(line string) *splitState {
	s := &splitState{}
	esc := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case esc:
			s.cur.WriteByte(c)
			esc = false
		case s.open == '\'':
			if c == '\'' {
				s.open = 0
			} else {
				s.cur.WriteByte(c)
			}
		case s.open == '"':
			switch {
			case c == '"':
				s.open = 0
			case c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
				i++
				s.cur.WriteByte(line[i])
			default:
				s.cur.WriteByte(c)
			}
		case c == ' ' || c == '\t':
			if s.inWord {
				s.words = append(s.words, s.cur.String())
				s.cur.Reset()
				s.inWord = false
			}
		default:
			if !s.inWord {
				s.inWord, s.start = true, i
			}
			switch c {
			case '\\':
				esc = true
			case '"', '\'':
				s.open = c
			default:
				s.cur.WriteByte(c)
			}
		}
	}
	return s
}

// partial splits the line up to the cursor for completion: the words
// before the one under the cursor, that word so far, and where it starts.
func partial(line string) (words []string, cur string, start int) {
	s := split(line)
	if !s.inWord {
		return s.words, "", len(line)
	}
	return s.words, s.cur.String(), s.start
}

// inQuote reports whether the line ends inside a quote.
func inQuote(line string) bool { return split(line).open != 0 }

// Quote writes w as a word Split reads back: as it is when it has no
// blank, quote or backslash, else in double quotes.
func Quote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\"'\\") {
		return w
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
}
