package confstore

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func equalTOML(a, b map[string]any) bool { return reflect.DeepEqual(a, b) }

// lookup walks a decoded TOML tree along a dotted key (numbers index
// arrays of tables).
func lookup(m map[string]any, parts []string) (any, bool) {
	var cur any = m
	for _, p := range parts {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []map[string]any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// FuzzSet: the key and value come from the operator and the text from a
// file anyone may have written: Set never panics, and when the text was
// TOML and Set succeeds, the result is TOML with the key holding the value.
func FuzzSet(f *testing.F) {
	f.Add(sample, "pptp.mtu", "1300")
	f.Add(sample, "log.level", "debug")
	f.Add(sample, "user.1.ip", "10.0.0.1")
	f.Add(sample, "radius.server.0.secret", "s")
	f.Add("[a]\nb.c = 1\n", "a.b.d", "[1, 2]")
	f.Add("a = \"\"\"x\n[b]\n\"\"\"\n", "b.c", "1")
	f.Add("[[x.y]]\n[x.y.z]\nq = {a = 1}\n", "x.y.0.z.r", "{b = 2}")
	f.Add("\r\n[t]\r\nk = 1", "t.k", "2020-01-01 10:00:00")
	f.Fuzz(func(t *testing.T, text, key, value string) {
		out, err := Set(text, key, value)
		if err != nil {
			return
		}
		var before map[string]any
		if _, err := toml.Decode(text, &before); err != nil {
			return
		}
		var after map[string]any
		if _, err := toml.Decode(out, &after); err != nil {
			t.Fatalf("Set(%q, %q) on TOML gave text that is not:\n%s\n%v", key, value, out, err)
		}
		val, _ := Value(value)
		var want map[string]any
		if _, err := toml.Decode("v = "+val, &want); err != nil {
			t.Fatalf("Value(%q) = %q: %v", value, val, err)
		}
		got, ok := lookup(after, strings.Split(key, "."))
		if !ok || !reflect.DeepEqual(got, want["v"]) {
			t.Fatalf("Set(%q, %q): key holds %#v, want %#v\n%s", key, value, got, want["v"], out)
		}
	})
}

// FuzzUsers: the user edits never panic, and on TOML text give TOML text.
func FuzzUsers(f *testing.F) {
	f.Add(sample, "alice", "pw", "")
	f.Add(sample, "carol", "x\"y", "10.0.0.1")
	f.Add("# c\n[[user]]\nname = 'z'\n[user.x]\n", "z", "p", "*")
	f.Fuzz(func(t *testing.T, text, name, pw, ip string) {
		var before map[string]any
		isTOML := toml.Unmarshal([]byte(text), &before) == nil
		for _, edit := range []func() (string, error){
			func() (string, error) { return AddUser(text, User{Name: name, Password: pw, IP: ip}) },
			func() (string, error) { return DeleteUser(text, name) },
			func() (string, error) { return SetUserPassword(text, name, pw) },
		} {
			out, err := edit()
			if err != nil || !isTOML {
				continue
			}
			var after map[string]any
			if err := toml.Unmarshal([]byte(out), &after); err != nil {
				t.Fatalf("a user edit of TOML gave text that is not:\n%s\n%v", out, err)
			}
		}
	})
}

// FuzzDiff: Diff never panics and its hunks rebuild b from a.
func FuzzDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nc\nd\n")
	f.Add("", "x")
	f.Add("x", "x\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Diff("a", "b", a, b)
		if (d == "") != (a == b) {
			t.Fatalf("Diff empty=%v for equal=%v", d == "", a == b)
		}
		if d != "" {
			if got := applyUnified(t, a, d); got != b {
				t.Fatalf("patch(a, Diff(a, b)) = %q, want %q\n%s", got, b, d)
			}
		}
	})
}
