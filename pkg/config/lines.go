package config

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// lineIndex maps dotted keys to the line that sets them, so that semantic
// errors can name a line as parse errors do. BurntSushi/toml keeps key
// positions private, so this is a light scan of the file: table headers
// ("[pptp]", "[[user]]" counted per name so the n-th user is "user.n") and
// "key =" lines. Keys it cannot see (inline tables) fall back to their table.
type lineIndex map[string]int

func indexLines(data []byte) lineIndex {
	idx := lineIndex{}
	arrays := map[string]int{}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "[["):
			name := cleanKey(strings.TrimSuffix(strings.SplitN(line[2:], "]]", 2)[0], "]]"))
			i := arrays[name]
			arrays[name] = i + 1
			table = name + "." + strconv.Itoa(i)
			idx.set(table, n)
			idx.set(name, n)
		case strings.HasPrefix(line, "["):
			table = cleanKey(strings.SplitN(line[1:], "]", 2)[0])
			// A sub-table of an array of tables belongs to its last element.
			if first, rest, ok := strings.Cut(table, "."); ok {
				if i, isArray := arrays[first]; isArray {
					table = first + "." + strconv.Itoa(i-1) + "." + rest
				}
			}
			idx.set(table, n)
		default:
			k, _, ok := strings.Cut(line, "=")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			key := cleanKey(k)
			if table != "" {
				key = table + "." + key
			}
			idx.set(key, n)
		}
	}
	return idx
}

func (idx lineIndex) set(key string, n int) {
	if _, ok := idx[key]; !ok {
		idx[key] = n
	}
}

// line finds key, or its closest enclosing table, or 0.
func (idx lineIndex) line(key string) int {
	for key != "" {
		if n, ok := idx[key]; ok {
			return n
		}
		i := strings.LastIndex(key, ".")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func cleanKey(k string) string {
	parts := strings.Split(strings.TrimSpace(k), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// lineOfArrayKey finds a key the TOML decoder names without its array index
// ("user.secret" for a key of some [[user]]): the first element that sets it.
func (idx lineIndex) lineOfArrayKey(key string) int {
	if n, ok := idx[key]; ok {
		return n
	}
	if first, rest, ok := strings.Cut(key, "."); ok {
		for i := 0; ; i++ {
			elem := first + "." + strconv.Itoa(i)
			if _, ok := idx[elem]; !ok {
				break
			}
			if n, ok := idx[elem+"."+rest]; ok {
				return n
			}
		}
	}
	return idx.line(key)
}
